"""e+e- -> mu+mu- Born: cross section, angular distribution, kinematics after the boost."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fastsim.beams import BeamSetup
from fastsim.cards import load_card
from fastsim.generators.ee_mumu import EEMuMuBorn, born_sigma_nb
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

M_MU = 0.1056583755  # PDG 2024, GeV: an independent check of the table lookup


def generator(spread: bool = True, cos_max: float = 1.0) -> EEMuMuBorn:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    # vacuum polarisation off: the checks below compare with the alpha(0) Born formula
    params = {"cos_theta_max": cos_max, "isr": False, "z_exchange": False, "vacuum_polarization": False}
    return EEMuMuBorn(params, BeamSetup.from_card(beam), ParticleTable())


def test_generated_cross_section_matches_formula() -> None:
    gen = generator(spread=True)
    _batch, tally = gen.generate(100_000, np.random.default_rng(1))
    s0 = gen.beams.sqrt_s**2
    # with a 5 MeV sqrt(s) spread the average of sigma(s) differs from sigma(s0) by < 1e-6;
    # the MC integral of the amplitudes agrees within 4 standard errors (< 0.1 %)
    ref = born_sigma_nb(s0, M_MU)
    assert tally.sigma_err_nb / ref < 1e-3
    assert abs(tally.sigma_nb / ref - 1) < 4 * tally.sigma_err_nb / ref
    assert abs(gen.m_mu - M_MU) < 1e-9


def test_isr_cross_section_matches_convolution() -> None:
    # sigma_ISR = int_0^xmax F(x) sigma_0(s (1 - x)) dx by quadrature (a second method)
    from scipy import integrate

    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    # vacuum polarisation off: the reference convolves the alpha(0) Born formula
    params = {"isr": True, "z_exchange": False, "sqrt_shat_min": 5.0, "vacuum_polarization": False}
    gen = EEMuMuBorn(params, BeamSetup.from_card(beam), ParticleTable())
    _, tally = gen.generate(100_000, np.random.default_rng(4))
    s = gen.beams.sqrt_s**2
    rad = gen.radiator
    xmax = 1 - 25.0 / s

    def reg(x: float) -> float:
        return rad.F(x) * born_sigma_nb(s * (1 - x), M_MU) - rad.beta * x ** (
            rad.beta - 1
        ) * rad.norm * born_sigma_nb(s, M_MU)

    ref = integrate.quad(reg, 0, xmax, limit=200, points=[1e-6, 1e-3])[0]
    ref += rad.norm * xmax**rad.beta * born_sigma_nb(s, M_MU)
    assert abs(tally.sigma_nb / ref - 1) < 4 * tally.sigma_err_nb / ref + 1e-4, (tally.sigma_nb, ref)
    # with sqrt(s') > 5 GeV, ISR raises sigma(mumu) by ~ +8 % (the 1/s' growth of sigma_0)
    assert 1.03 < ref / born_sigma_nb(s, M_MU) < 1.2


def test_analytic_me_equals_helicity_kernel() -> None:
    from fastsim.generators.ee_mumu import me2_analytic, me2_mumu

    gen = generator()
    ew = gen.ew
    rng = np.random.default_rng(8)
    n = 500
    for m_hat in (1.0, 10.58, 91.0):  # near the Z pole the Z terms dominate
        M = np.full(n, m_hat)
        c, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
        pst, st = 0.5 * M * np.sqrt(1 - 4 * M_MU**2 / M**2), np.sqrt(1 - c * c)
        p = np.zeros((n, 2, 4))
        p[:, 0, :3] = np.stack([st * np.cos(phi), st * np.sin(phi), c], axis=1) * pst[:, None]
        p[:, 1, :3] = -p[:, 0, :3]
        p[:, :, 3] = 0.5 * M[:, None]
        for z_on in (False, True):
            ref = me2_mumu(p, M, gen.m_e, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, z_on)
            # massless-electron formula: exact up to O(m_e^2 / s) (3e-7 at 1 GeV)
            assert np.allclose(me2_analytic(M * M, c, gen.m_mu, ew, z_on), ref, rtol=1e-6, atol=0)


def test_fast_path_agrees_with_multichannel_with_isr() -> None:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beams = BeamSetup.from_card(beam)
    params = {"isr": True, "cos_theta_max": 0.9}
    fast = EEMuMuBorn(params, beams, ParticleTable())
    slow = EEMuMuBorn(params, beams, ParticleTable())
    slow.fast = False
    slow._train()
    _, tf = fast.generate(50_000, np.random.default_rng(1))
    _, ts = slow.generate(50_000, np.random.default_rng(2))
    err = np.hypot(tf.sigma_err_nb, ts.sigma_err_nb)
    assert err / ts.sigma_nb < 3e-3
    assert abs(tf.sigma_nb - ts.sigma_nb) < 4 * err, (tf.sigma_nb, ts.sigma_nb, err)
    assert fast._overweight < 2e-3 * 50_000


def test_isr_cross_section_agrees_with_pythia8(monkeypatch: pytest.MonkeyPatch) -> None:
    """sigma(e+e- -> mu mu, ISR, m(mu mu) > 5 GeV, pT-hat > 1 GeV) with 7 on 4 GeV beams,
    alpha(0): fastsim's Kuraev-Fadin ISR against Pythia 8's lepton PDF (pythia8mc 8.317.2,
    PDF:lepton = on), same cuts (benchmarks/bench_generators.py).  Measured 1.009: the
    remainder is Pythia's PDF scale Q^2 = s-hat (-0.6 %, docs/physics.md)."""
    from benchmarks.bench_generators import _pythia, fastsim_sigma_pt_hat_cut

    # Pythia runs with alpha(0) (SigmaProcess:alphaEMorder = 0): vacuum polarisation off
    # for the generator the benchmark builds (its default is on)
    off = dataclasses.replace(EEMuMuBorn.params["vacuum_polarization"], default=False)
    monkeypatch.setitem(EEMuMuBorn.params, "vacuum_polarization", off)
    ours, ours_err = fastsim_sigma_pt_hat_cut(100_000)
    _rate, pythia = _pythia(20_000)  # Pythia's default seed: a fixed sample, sigmaErr 0.55 %
    assert ours_err / ours < 1e-3
    assert abs(ours / pythia - 1) < 0.02, ours / pythia
