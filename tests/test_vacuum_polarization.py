"""Photon vacuum polarisation (fastsim/generators/vacuum_polarization.py).

The lepton loop against its large-|s| form, the Feynman-parameter integral and the dispersion
relation (numerical quadrature), and the optical theorem (the Born sigma(ee -> ll));
the hadronic fit at M_Z against its paper and the PDG; the total at 10.58 GeV against a
second published parametrisation; ``ee_mumu`` with the vacuum polarisation on and off.
Units: GeV, GeV^2, nb.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from fastsim.beams import BeamSetup
from fastsim.cards import load_card
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_mumu import EEMuMuBorn, me2_analytic, me2_mumu
from fastsim.generators.ee_mumu_born import born_sigma_nb
from fastsim.generators.electroweak import lepton_mass
from fastsim.generators.vacuum_polarization import (
    alpha_running,
    pi_gamma,
    pi_hadronic,
    pi_lepton,
    vp_factor,
)
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

A3PI = ALPHA_EM / (3 * math.pi)
M_E, M_MU, M_TAU = (lepton_mass(p) for p in (11, 13, 15))
S_Y4S = 10.58**2


def _m_z() -> float:
    from particle import Particle

    return Particle.from_pdgid(23).mass / 1000.0


# ------------------------------------------------------------------------------ leptons
@pytest.mark.parametrize("m", [M_E, M_MU])
@pytest.mark.parametrize("s", [S_Y4S, -S_Y4S, 91.1876**2, -(91.1876**2)])
def test_lepton_loop_large_s(m: float, s: float) -> None:
    # (alpha/3 pi)(ln(|s|/m^2) - 5/3) for |s| >> m^2 (P & S eq. 7.91 expanded); the exact form
    # differs by -(alpha/3 pi) 6 m^2/s + O((m^2/s)^2 ln): here m^2/|s| < 1e-4
    pi = pi_lepton(s, m)[0]
    asym = A3PI * (math.log(abs(s) / m**2) - 5 / 3)
    r = m**2 / abs(s)
    assert abs(pi.real - asym) < A3PI * 7 * r
    assert abs(pi.real - (asym - A3PI * 6 * m**2 / s)) < A3PI * 50 * r * r * math.log(1 / r) + 1e-15
    # Im = -(alpha/3) theta(s) beta (3 - beta^2)/2 = -(alpha/3) theta(s) (1 - 6 (m^2/s)^2 + ...)
    assert abs(pi.imag - (-ALPHA_EM / 3 if s > 0 else 0.0)) < ALPHA_EM / 3 * 7 * r * r + 1e-17


def _feynman_integral(s: float, m: float) -> complex:
    """(2 alpha/pi) int_0^1 x(1-x) ln(1 - x(1-x) s/m^2 - i0) dx (P & S eq. 7.90) by quadrature."""
    z = s / m**2
    pts = []
    if z > 4:
        d = math.sqrt(1 - 4 / z) / 2
        pts = [0.5 - d, 0.5 + d]  # integrable log singularities where the argument vanishes

    def re(x: float) -> float:
        u = x * (1 - x) * z
        return x * (1 - x) * (math.log1p(-u) if u < 1 else math.log(u - 1))

    val = integrate.quad(re, 0, 1, points=pts or None, limit=400, epsabs=1e-14, epsrel=1e-12)[0]
    im = 0.0
    if pts:  # ln of a negative number at s + i0: -i pi
        im = -math.pi * integrate.quad(lambda x: x * (1 - x), pts[0], pts[1], epsabs=1e-15)[0]
    return 2 * ALPHA_EM / math.pi * complex(val, im)


# s near the thresholds 4 m^2 = 0.04466 (mu), 12.63 (tau), below, above and spacelike
POINTS = [
    (M_MU, -1.0),
    (M_MU, 0.02),
    (M_MU, 0.0447),
    (M_MU, 0.2),
    (M_MU, 1.0),
    (M_MU, S_Y4S),
    (M_TAU, 3.0),
    (M_TAU, 12.64),
    (M_TAU, 13.5),
    (M_TAU, S_Y4S),
    (M_TAU, -S_Y4S),
    (M_TAU, 1e-3),
    (M_E, -S_Y4S),
    (M_E, 1.0),
]


@pytest.mark.parametrize(("m", "s"), POINTS)
def test_lepton_loop_against_feynman_parameter_integral(m: float, s: float) -> None:
    ref = _feynman_integral(s, m)
    pi = pi_lepton(s, m)[0]
    assert abs(pi.real - ref.real) < 1e-9 * abs(ref.real) + 1e-13, (pi, ref)
    assert abs(pi.imag - ref.imag) < 1e-9 * abs(ref.imag) + 1e-13, (pi, ref)


QUAD = {"limit": 400, "epsabs": 1e-14, "epsrel": 1e-11}


def _im_from_born(s: np.ndarray, m: float) -> np.ndarray:
    """Optical theorem: Im Pi = -(alpha/3) sigma_Born(ee -> ll) / sigma_pt, sigma_pt = 4 pi alpha^2/3s."""
    return -ALPHA_EM / 3 * born_sigma_nb(s, m) / (4 * math.pi * ALPHA_EM**2 / (3 * s) * GEV2_TO_NB)


@pytest.mark.parametrize(("m", "s"), [(M_MU, 0.0447), (M_MU, 1.0), (M_TAU, 12.7), (M_TAU, S_Y4S)])
def test_lepton_imaginary_part_is_the_born_cross_section(m: float, s: float) -> None:
    assert abs(pi_lepton(s, m)[0].imag / _im_from_born(np.array(s), m) - 1) < 1e-12


@pytest.mark.parametrize(
    ("m", "s"), [(M_MU, -1.0), (M_MU, 0.03), (M_MU, 1.0), (M_TAU, 12.64), (M_TAU, S_Y4S)]
)
def test_lepton_loop_dispersion_relation(m: float, s: float) -> None:
    # Re Pi(s) = (s/pi) P int_{4m^2}^inf ds' Im Pi(s') / (s' (s' - s)), Im Pi from the Born
    # sigma (optical theorem); with t = 4 m^2/s' this is (s/pi) int_0^1 dt Im / (4 m^2 - s t)
    m2 = 4 * m * m

    def im(t: float) -> float:
        return float(_im_from_born(np.array(m2 / max(t, 1e-12)), m))

    if s < m2:
        val = s / math.pi * integrate.quad(lambda t: im(t) / (m2 - s * t), 0, 1, **QUAD)[0]
    else:  # principal value at t0 = 4 m^2/s: (s/pi) P int im/(s (t0 - t)) = -(1/pi) P int im/(t - t0)
        val = -integrate.quad(im, 0, 1, weight="cauchy", wvar=m2 / s, **QUAD)[0] / math.pi
    pi = pi_lepton(s, m)[0].real
    assert abs(pi / val - 1) < 1e-7, (pi, val)


def test_leptonic_delta_alpha_at_mz() -> None:
    # one loop: (alpha/3 pi)[22.5 + 11.8 + 6.2] = 0.0314 (Geshkenbein & Morgunov,
    # hep-ph/9407228 eq. 2; rounded terms: tolerance 1e-4); the two-loop term left out
    # is 0.78e-4 (Steinhauser, hep-ph/9803313)
    lep = sum(pi_lepton(_m_z() ** 2, m)[0].real for m in (M_E, M_MU, M_TAU))
    assert abs(lep - 0.0314) < 1e-4, lep


def test_small_s_series_and_continuity() -> None:
    # the series used for |s| < 0.1 m^2 and the closed form both match the integral; Pi(0) = 0
    for m in (M_E, M_MU, M_TAU):
        s = np.array([-0.10001, -0.09999, 0.09999, 0.10001, 1e-3, -1e-6]) * m * m
        for si, pi in zip(s, pi_lepton(s, m), strict=True):
            assert abs(pi.real / _feynman_integral(si, m).real - 1) < 1e-9 and pi.imag == 0
    assert pi_gamma(0.0)[0] == 0
    # threshold: continuous, Re Pi(4 m^2) = -(8/3)(alpha/3 pi)
    for m in (M_MU, M_TAU):
        p = pi_lepton(4 * m * m * np.array([1 - 1e-12, 1 + 1e-12]), m)
        assert np.allclose(p.real, -8 / 3 * A3PI, rtol=1e-5, atol=0)


# ------------------------------------------------------------------------------ hadrons
def test_hadronic_fit_at_mz() -> None:
    had = pi_hadronic(_m_z() ** 2)[0].real
    # the paper's own value, Burkhardt & Pietrzyk, PLB 356 (1995) 398: 0.0280 +- 0.0007
    assert abs(had - 0.0280) < 5e-5, had
    # the PDG value 0.02766 (as quoted in the task): 3.4e-4 (1.2 %) below the 1995 fit,
    # inside that fit's own error 0.0007
    assert abs(had - 0.02766) < 7e-4, had
    # the fit is continuous at its region edges (2, 4, 10, 91.2 GeV)
    for e in (2.0, 4.0, 10.0, 91.2):
        lo, hi = pi_hadronic(np.array([e * e * (1 - 1e-12), e * e * (1 + 1e-12)])).real
        assert abs(lo - hi) < 2e-6, (e, lo, hi)


def _burkhardt_1989(s: float) -> float:
    """Re Pi_had of the earlier parametrisation, H. Burkhardt, TASSO note 192 (1981), updated
    in CERN 88-06 and Z. Phys. C43 (1989) 497: A + B ln(1 + C|s|) on |s| < 0.3^2, 3^2, 100^2,
    above (GeV^2); coefficients as tabulated in KKMC's ``vacpol`` REPI (KeyPia = 1)."""
    t = abs(s)
    for edge, a, b, c in (
        (0.09, 0.0, 0.00835, 1.0),
        (9.0, 0.0, 0.00238, 3.927),
        (1e4, 0.00165, 0.00300, 1.0),
    ):
        if t < edge:
            return a + b * math.log1p(c * t)
    return 0.00221 + 0.00293 * math.log1p(t)


def test_total_at_the_upsilon_4s() -> None:
    s = S_Y4S
    had = pi_hadronic(s)[0].real
    # the 1989 parametrisation at 10.58 GeV: 0.01583 against 0.01525 (a 5.8e-4 spread of
    # two published fits: the same size as the 1995 fit's error at M_Z)
    assert abs(had - _burkhardt_1989(s)) < 1e-3, (had, _burkhardt_1989(s))
    lep = pi_gamma(s)[0] - pi_hadronic(s)[0]
    vp_1989 = 1 / abs(1 - lep - _burkhardt_1989(s) - 1j * pi_hadronic(s)[0].imag) ** 2
    f = vp_factor(s)[0]
    assert abs(f / vp_1989 - 1) < 2e-3, (f, vp_1989)
    assert 1.07 < f < 1.085, f
    # alpha(10.58 GeV)^-1 in the 131.9 - 132.5 window expected for the Upsilon(4S) region
    assert 131.9 < 1 / alpha_running(s)[0] < 132.5


def test_spacelike_and_timelike_agree_at_large_s() -> None:
    # Re Pi(s) - Re Pi(-s) -> 0 as |s| -> inf (ln(-s - i0) = ln s - i pi), Im Pi(-s) = 0
    # (the tau loop: 12 m_tau^2/s (alpha/3 pi) = 4e-6 at M_Z)
    for s in (_m_z() ** 2, 500.0**2):
        pt, ps = pi_gamma(s)[0], pi_gamma(-s)[0]
        assert abs(pt.real - ps.real) < 5e-6 and ps.imag == 0 and pt.imag < 0
    # alpha(s) rises monotonically from alpha(0) on the spacelike side
    a = alpha_running(-np.geomspace(1e-4, 1e4, 200))
    assert np.all(np.diff(a) > 0) and a[0] > ALPHA_EM


# ------------------------------------------------------------------------------ ee_mumu
def _ee_mumu(**params: object) -> EEMuMuBorn:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    return EEMuMuBorn({"fsr": False, **params}, BeamSetup.from_card(beam), ParticleTable())


def test_ee_mumu_born_scales_by_vp_factor() -> None:
    on = _ee_mumu(isr=False, z_exchange=False)
    off = _ee_mumu(isr=False, z_exchange=False, vacuum_polarization=False)
    _, t_on = on.generate(2000, np.random.default_rng(1))
    _, t_off = off.generate(2000, np.random.default_rng(1))
    s0 = on.beams.sqrt_s**2
    assert abs(t_on.sigma_nb / t_off.sigma_nb / vp_factor(s0)[0] - 1) < 1e-12
    assert abs(t_off.sigma_nb / born_sigma_nb(s0, M_MU) - 1) < 1e-6  # alpha(0), massless e: O(m_e^2/s)
    assert on.describe()["vacuum_polarization"] is True
    assert off.describe()["vacuum_polarization"] is False


def test_helicity_kernel_with_vp_equals_analytic() -> None:
    gen = _ee_mumu()
    ew = gen.ew
    rng = np.random.default_rng(8)
    n = 300
    for m_hat in (1.0, 3.0, 10.58, 91.0):  # massless-electron formula: O(m_e^2/s) <= 3e-7
        M = np.full(n, m_hat)
        c, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
        pst, st = 0.5 * M * np.sqrt(1 - 4 * M_MU**2 / M**2), np.sqrt(1 - c * c)
        p = np.zeros((n, 2, 4))
        p[:, 0, :3] = np.stack([st * np.cos(phi), st * np.sin(phi), c], axis=1) * pst[:, None]
        p[:, 1, :3] = -p[:, 0, :3]
        p[:, :, 3] = 0.5 * M[:, None]
        for z_on in (False, True):
            vp = gen.photon_vp(M * M)
            ref = me2_mumu(p, M, gen.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, z_on, vp)
            assert np.allclose(me2_analytic(M * M, c, M_MU, ew, z_on, vp=True), ref, rtol=1e-6, atol=0)
            if not z_on:  # pure photon: |M|^2 scales by 1 / |1 - Pi|^2
                bare = me2_mumu(p, M, gen.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, z_on)
                assert np.allclose(ref / bare, vp_factor(M * M), rtol=1e-12, atol=0)


def test_ee_mumu_isr_with_vp_matches_convolution() -> None:
    # sigma = int_0^xmax F(x) sigma_0(s') / |1 - Pi(s')|^2 dx, s' = s (1 - x), by quadrature
    gen = _ee_mumu(isr=True, z_exchange=False, sqrt_shat_min=1.0)
    _, tally = gen.generate(100_000, np.random.default_rng(4))
    s = gen.beams.sqrt_s**2
    rad = gen.radiator
    xmax = 1 - 1.0 / s

    def sig(x: float) -> float:
        sp = s * (1 - x)
        return float(born_sigma_nb(sp, M_MU) * vp_factor(sp)[0])

    def reg(x: float) -> float:
        return rad.F(x) * sig(x) - rad.beta * x ** (rad.beta - 1) * rad.norm * sig(0.0)

    # points: the fit's region edges s' = 100, 16, 4 GeV^2 (Im Pi_had starts at 4)
    kinks = [1 - e / s for e in (100.0, 16.0, 4.0)]
    ref = integrate.quad(reg, 0, xmax, limit=400, points=[1e-6, 1e-3, *kinks])[0]
    ref += rad.norm * xmax**rad.beta * sig(0.0)
    assert tally.sigma_err_nb / ref < 2e-3
    assert abs(tally.sigma_nb / ref - 1) < 4 * tally.sigma_err_nb / ref + 1e-4, (tally.sigma_nb, ref)
