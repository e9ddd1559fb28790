"""The dark-photon generator ``ee_gamma_aprime`` (e+e- -> gamma A', A' -> l+ l- in the amplitude
or decayed by the decay stage).

Independent checks (no ISR, no FSR, no beam-energy spread unless said):
* ``decay: table`` (A' polarisations summed): sigma(|cos theta_gamma| < C) and dsigma/dcos in
  bins against the closed form of physics.md section 7 at m = 0.5 and 5 GeV, and |M|^2 pointwise
  against 2 e^4 eps^2 (t^2 + u^2 + 2 s m^2)/(t u);
* ``decay: mumu``: sigma against the closed-form sigma(gamma A') x Gamma(mu mu)/Gamma_tot with
  Gamma(mu mu) = eps^2 alpha m/3 (1 + 2r) sqrt(1 - 4r) written here; the decay angle in the
  Collins-Soper frame against (1 + cos^2) + A0/2 (1 - 3 cos^2), A0 = qT^2/(m^2 + qT^2) (the
  Lam-Tung result for q qbar -> V g, the same amplitude with g -> gamma; not isotropic); and,
  a second method, the |M|^2 of gamma l+ l- integrated over the decay angle (exact quadrature)
  against the polarisation-summed production |M|^2 x 2 m Gamma(l l);
* the Ward identity of the photon (eps -> k) for ee and mumu;
* m(l+ l-) = m_A' and the displaced decay following the card's c tau.

Units: GeV, cm; cross sections in nb.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastsim import kinematics
from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.cards import load_card
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.events import STATUS_DECAYED, STATUS_FINAL
from fastsim.generators.ee_gamma_aprime import (
    EEGammaAPrime,
    me2_gamma_aprime,
    me2_gamma_aprime_ll,
    ward_ratio_gamma_aprime_ll,
)
from fastsim.models.dark_photon import APRIME_ID, DarkPhoton
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

EPS = 1e-3
COS20 = math.cos(math.radians(20.0))


def _beams() -> BeamSetup:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    return BeamSetup.from_card(beam)


def _table(mass: float, ctau: float | None = None) -> ParticleTable:
    """A particle table with the card's dark_photon point (as a ``models:`` section makes it)."""
    table = ParticleTable()
    model = DarkPhoton({"mass": mass, "coupling": EPS}, table)
    table.register(APRIME_ID, "A'", mass=mass, ctau=model.ctau_cm if ctau is None else ctau)
    table.models[APRIME_ID] = ("dark_photon", {"mass": mass, "coupling": EPS})
    return table


def _gen(mass: float, decay: str, table: ParticleTable | None = None, **kw: object) -> EEGammaAPrime:
    params = {"decay": decay, "isr": False, "fsr": False, **kw}
    if table is None:
        table, params = ParticleTable(), {"mass": mass, "coupling": EPS, **params}
    return EEGammaAPrime(params, _beams(), table)


def _sigma(gen: EEGammaAPrime, n: int, seed: int) -> tuple[float, float]:
    """Weighted Monte Carlo estimate (nb) and its error from n trial points."""
    gen._ensure_trained()
    w = gen._points(n, np.random.default_rng(seed))["w"]
    return float(w.mean()), float(w.std() / math.sqrt(n))


# physics.md section 7 (massless electrons), r = m^2/s, L = ln((1 + C)/(1 - C))
def _dsigma_dcos(s: float, m: float, c: np.ndarray) -> np.ndarray:
    r = m * m / s
    pre = 2 * math.pi * ALPHA_EM**2 * EPS**2 / s * (1 - r) * GEV2_TO_NB
    return pre * ((1 + c * c) + 4 * r / (1 - r) ** 2) / (1 - c * c)


def _sigma_closed(s: float, m: float, c_max: float) -> float:
    r = m * m / s
    big_l = math.log((1 + c_max) / (1 - c_max))
    pre = 2 * math.pi * ALPHA_EM**2 * EPS**2 / s * (1 - r) * GEV2_TO_NB
    return pre * (2 * big_l - 2 * c_max + 4 * r / (1 - r) ** 2 * big_l)


def _cdf(s: float, m: float, c: np.ndarray) -> np.ndarray:
    """int_0^c dsigma/dcos (odd in c)."""
    r = m * m / s
    pre = 2 * math.pi * ALPHA_EM**2 * EPS**2 / s * (1 - r) * GEV2_TO_NB
    atanh2 = np.log((1 + c) / (1 - c))
    return pre * (atanh2 - c + 2 * r / (1 - r) ** 2 * atanh2)


def _gamma_ll(m: float, m_l: float) -> float:
    r = m_l**2 / m**2
    return EPS**2 * ALPHA_EM * m / 3 * (1 + 2 * r) * math.sqrt(1 - 4 * r)


def _record(batch, rows: int) -> dict[str, np.ndarray]:
    mc = batch["mc"]
    assert np.all(np.diff(mc.offsets) == rows)
    keys = ("id", "status", "px", "py", "pz", "e", "m", "vx", "vy", "vz", "lifetime")
    return {k: np.asarray(mc[k]).reshape(-1, rows) for k in keys}


def _p4(rec: dict[str, np.ndarray], j: int) -> np.ndarray:
    return np.stack([rec["px"][:, j], rec["py"][:, j], rec["pz"][:, j], rec["e"][:, j]], axis=1)


# ------------------------------------------------------------------ 1. gamma A', polarisations summed
@pytest.mark.parametrize("mass", [0.5, 5.0])
def test_table_mode_sigma_and_photon_angle_against_closed_form(mass: float) -> None:
    gen = _gen(mass, "table", _table(mass))
    s = gen.beams.sqrt_s**2
    sigma, err = _sigma(gen, 200_000, 3)
    ref = _sigma_closed(s, mass, COS20)
    assert err / sigma < 0.004
    assert abs(sigma - ref) < 3.5 * err and abs(sigma / ref - 1) < 0.012, (sigma, err, ref)
    # physics.md 7 [V-num]: sigma/eps^2 = 5.9 nb (0.5 GeV), 9.2 nb (5 GeV) for C = cos 20 deg
    assert sigma / EPS**2 == pytest.approx(5.9 if mass < 1 else 9.2, rel=0.01)
    # shape: the generated (unweighted) photon polar angle in 10 bins, chi2 against the closed form
    batch, tally = gen.generate(20_000, np.random.default_rng(4))
    rec = _record(batch, 4)
    assert np.all(rec["id"][:, 2:] == [22, APRIME_ID]) and np.all(rec["status"][:, 3] == STATUS_FINAL)
    cm = lab_to_cm(np.stack([_p4(rec, 2), _p4(rec, 3)], axis=1), _p4(rec, 0), _p4(rec, 1))
    c = cm[:, 0, 2] / kinematics.momentum(cm[:, 0])
    assert np.all(np.abs(c) < COS20)
    edges = np.linspace(-COS20, COS20, 11)
    expected = len(c) * np.diff(_cdf(s, mass, edges)) / (2 * _cdf(s, mass, np.array(COS20)))
    counts, _ = np.histogram(c, edges)
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 33.7, (chi2, counts, expected)  # chi2(10 dof), p = 2e-4
    assert abs(tally.sigma_nb / ref - 1) < 0.02
    # |M|^2 pointwise: (1/4) sum |M|^2 = 2 e^4 eps^2 (t^2 + u^2 + 2 s m^2)/(t u) (m_e -> 0)
    pts = gen._points(500, np.random.default_rng(5))
    p = pts["p_cm"][pts["w"] > 0]
    k1, k2 = gen.incoming(np.full(len(p), math.sqrt(s)))
    me2 = me2_gamma_aprime(np.ascontiguousarray(np.stack([k1, k2], 1)), p, gen.m_e, gen.ce, gen.ca)
    t = -2 * (k1[:, 3] * p[:, 0, 3] - np.sum(k1[:, :3] * p[:, 0, :3], axis=1))
    u = -2 * (k2[:, 3] * p[:, 0, 3] - np.sum(k2[:, :3] * p[:, 0, :3], axis=1))
    e4 = (4 * math.pi * ALPHA_EM) ** 2
    closed = 2 * e4 * EPS**2 * (t * t + u * u + 2 * s * mass**2) / (t * u)
    assert np.allclose(me2, closed, rtol=1e-5)


# ------------------------------------------------------------------ 2. A' -> mu mu in the amplitude
def test_mumu_sigma_is_sigma_gamma_aprime_times_br() -> None:
    mass = 3.0
    gen = _gen(mass, "mumu")
    s = gen.beams.sqrt_s**2
    sigma, err = _sigma(gen, 200_000, 6)
    br = _gamma_ll(mass, gen.m_mu) / gen.model.width_gev
    ref = _sigma_closed(s, mass, COS20) * br
    assert err / sigma < 0.004
    assert abs(sigma - ref) < 3.5 * err and abs(sigma / ref - 1) < 0.012, (sigma, err, ref)
    assert gen.model.branching_fraction((-13, 13)) == pytest.approx(br, rel=1e-3)


@pytest.mark.parametrize(("mass", "decay"), [(0.5, "mumu"), (0.05, "ee"), (5.0, "ee")])
def test_decay_integrated_me2_equals_production_times_width(mass: float, decay: str) -> None:
    """int dPhi_2(l l) |M(gamma l l)|^2 = sum_pol |M(gamma A')|^2 x 2 m Gamma(l l) (the narrow-width
    factorisation), the decay angle integrated exactly (Gauss-Legendre in cos x 8 azimuths: the
    integrand is a polynomial of degree 2 in the lepton direction)."""
    gen = _gen(mass, decay)
    pts = gen._points(2000, np.random.default_rng(8))
    p = pts["p_cm"][pts["w"] > 0][:20]
    n = len(p)
    big_m = np.full(n, gen.beams.sqrt_s)
    k1, k2 = gen.incoming(big_m)
    kin = np.ascontiguousarray(np.stack([k1, k2], 1))
    q = p[:, 1] + p[:, 2]
    prod = me2_gamma_aprime(kin, np.ascontiguousarray(np.stack([p[:, 0], q], 1)), gen.m_e, gen.ce, gen.ca)
    xs, ws = np.polynomial.legendre.leggauss(4)
    phis = 2 * np.pi * np.arange(8) / 8
    pst = kinematics.two_body_momentum(np.array([mass]), np.array([gen.m_l]), np.array([gen.m_l]))[0]
    integral = np.zeros(n)
    for x, wx in zip(xs, ws, strict=True):
        for ph in phis:
            d = np.array([math.sqrt(1 - x * x) * math.cos(ph), math.sqrt(1 - x * x) * math.sin(ph), x]) * pst
            rest = np.tile(np.append(d, math.hypot(pst, gen.m_l)), (n, 1))
            anti = rest * np.array([-1, -1, -1, 1])
            a = kinematics.boost_to_frame_of(rest, q, np.full(n, mass))
            b = kinematics.boost_to_frame_of(anti, q, np.full(n, mass))
            full = me2_gamma_aprime_ll(
                kin, np.ascontiguousarray(np.stack([p[:, 0], a, b], 1)), gen.m_e, gen.ce, gen.ca
            )
            integral += full * wx / 2 / len(phis)  # average over dOmega / 4 pi
    # dPhi_2 = |p*| / (4 pi m) dOmega / (4 pi)
    integral *= pst / (4 * math.pi * mass)
    assert np.allclose(integral, prod * 2 * mass * _gamma_ll(mass, gen.m_l), rtol=1e-9)


def test_mumu_decay_angle_follows_lam_tung_not_isotropic() -> None:
    mass = 5.0
    gen = _gen(mass, "mumu")
    batch, _ = gen.generate(20_000, np.random.default_rng(9))
    rec = _record(batch, 6)
    assert np.all(rec["id"][:, 2:] == [22, APRIME_ID, 13, -13])
    assert np.all(rec["status"][:, 3] == STATUS_DECAYED)
    her, ler = _p4(rec, 0), _p4(rec, 1)
    cm = lab_to_cm(np.stack([_p4(rec, j) for j in (0, 1, 2, 3, 4)], axis=1), her, ler)
    aprime, mu = cm[:, 3], cm[:, 4]
    # Collins-Soper frame: z bisects the e- and (minus) the e+ directions in the A' rest frame
    p1 = kinematics.boost_to_rest_frame(cm[:, 0], aprime)
    p2 = kinematics.boost_to_rest_frame(cm[:, 1], aprime)
    z = p1[:, :3] / kinematics.momentum(p1)[:, None] - p2[:, :3] / kinematics.momentum(p2)[:, None]
    z /= np.linalg.norm(z, axis=1)[:, None]
    mu_r = kinematics.boost_to_rest_frame(mu, aprime)
    c = np.sum(mu_r[:, :3] * z, axis=1) / kinematics.momentum(mu_r)
    qt2 = aprime[:, 0] ** 2 + aprime[:, 1] ** 2
    a0 = qt2 / (mass**2 + qt2)
    # W = (1 + c^2) + A0/2 (1 - 3 c^2) (normalisation A0-independent): <c^2> = 2/5 - A0/10
    n = len(c)
    se = np.std(c * c) / math.sqrt(n)
    assert abs(np.mean(c * c) - np.mean(0.4 - a0 / 10)) < 4 * se, (np.mean(c * c), np.mean(0.4 - a0 / 10), se)
    assert np.mean(c * c) - 1 / 3 > 15 * se  # a polarised vector: not isotropic


# ------------------------------------------------------------------ 3. gauge invariance
@pytest.mark.parametrize(("mass", "decay"), [(0.5, "ee"), (3.0, "mumu")])
def test_ward_identity(mass: float, decay: str) -> None:
    gen = _gen(mass, decay, photon_cos_theta_max=0.999)
    pts = gen._points(2000, np.random.default_rng(10))
    ok = pts["w"] > 0
    p = np.ascontiguousarray(pts["p_cm"][ok][:300])
    r = ward_ratio_gamma_aprime_ll(p, np.full(len(p), gen.beams.sqrt_s), gen.m_e, gen.ce, gen.ca)
    assert len(r) == 300 and np.max(r) < 1e-8, np.max(r)


# ------------------------------------------------------------------ 4. mass peak and displacement
def test_mll_and_displaced_vertex_from_the_card_ctau() -> None:
    mass, ctau = 1.0, 5.0
    gen = _gen(mass, "ee", _table(mass, ctau=ctau), photon_energy_min=1.0, lepton_cos_theta_max=0.95)
    assert gen.ctau_cm == ctau and (gen.mx, gen.eps) == (mass, EPS)
    batch, _ = gen.generate(10_000, np.random.default_rng(11))
    rec = _record(batch, 6)
    assert np.all(rec["id"][:, 2:] == [22, APRIME_ID, 11, -11])
    lab = np.stack([_p4(rec, j) for j in (2, 3, 4, 5)], axis=1)
    assert np.allclose(kinematics.invariant_mass(lab[:, 2] + lab[:, 3]), mass, rtol=1e-9)
    assert np.allclose(lab[:, 1], lab[:, 2] + lab[:, 3], atol=1e-9)
    cm = lab_to_cm(lab, _p4(rec, 0), _p4(rec, 1))
    assert np.all(cm[:, 0, 3] > 1.0)
    assert np.all(np.abs(cm[:, 2:, 2] / kinematics.momentum(cm[:, 2:])) < 0.95)
    # c t ~ Exp(c tau): mean and median
    ct = rec["lifetime"][:, 3]
    n = len(ct)
    assert abs(ct.mean() - ctau) < 4 * ctau / math.sqrt(n)
    assert abs(np.median(ct) / (ctau * math.log(2)) - 1) < 0.04
    # the leptons start at the A' vertex + (p / m) c t
    v = np.stack([rec[k] for k in ("vx", "vy", "vz")], axis=2)
    step = lab[:, 1, :3] / mass * ct[:, None]
    for j in (4, 5):
        assert np.allclose(v[:, j] - v[:, 3], step, atol=1e-9)
    # without the card's point: the model's c tau
    assert _gen(mass, "ee").ctau_cm == pytest.approx(DarkPhoton({"mass": mass, "coupling": EPS}).ctau_cm)


# ------------------------------------------------------------------ ISR, cuts, card point
def test_isr_cuts_describe_and_the_card_point() -> None:
    mass, e_min = 9.0, 0.2
    table = _table(mass)
    gen = EEGammaAPrime({"decay": "mumu", "photon_energy_min": e_min}, _beams(), table)
    assert (gen.mx, gen.eps) == (mass, EPS) and gen.isr_on
    pts = gen._points(5000, np.random.default_rng(12))
    ok = pts["w"] > 0
    assert ok.sum() > 1000
    p = pts["p_cm"][ok]
    hard = kinematics.invariant_mass2(p.sum(axis=1))
    assert np.all(hard > (e_min + math.hypot(e_min, mass)) ** 2)
    assert np.all(p[:, 0, 3] > e_min) and np.all(np.abs(p[:, 0, 2] / p[:, 0, 3]) < COS20)
    desc = gen.describe()
    assert (desc["signal_model"], desc["x_pdg"], desc["decay"]) == ("dark_photon", APRIME_ID, "mumu")
    s = gen.beams.sqrt_s**2
    assert desc["sigma_born_nb"] == pytest.approx(_sigma_closed(s, mass, COS20), rel=1e-9)
    # the model's closed form (fastsim.models.dark_photon) is the one of physics.md
    assert gen.model.sigma_ee_gamma_aprime_nb(s, COS20) == pytest.approx(
        _sigma_closed(s, mass, COS20), rel=1e-9
    )
    assert not gen.check()
    # problems: no point for decay: table, E_min = 0 with ISR, a closed channel
    bad = EEGammaAPrime({"mass": 1.0, "coupling": EPS, "decay": "table"}, _beams(), ParticleTable())
    assert [k for k, _ in bad.check()] == ["decay"]
    bad = EEGammaAPrime({"mass": 1.0, "coupling": EPS, "photon_energy_min": 0.0}, _beams(), ParticleTable())
    assert [k for k, _ in bad.check()] == ["photon_energy_min"]
    bad = EEGammaAPrime({"mass": 0.2, "coupling": EPS, "decay": "mumu"}, _beams(), ParticleTable())
    assert [k for k, _ in bad.check()] == ["decay"]
    with pytest.raises(ValueError, match="dark_photon point"):
        EEGammaAPrime({"isr": False}, _beams(), ParticleTable())


def test_a_point_other_than_the_cards_is_refused(tmp_path) -> None:
    """The particle table (c tau, the decay table) is the card's dark_photon point: a generator
    mass or coupling that differs from it is an error, not a silent mix (session-10 review)."""
    from fastsim.cards import load_card
    from fastsim.run import run
    from tests.conftest import REPO

    card = tmp_path / "mismatch.yaml"
    card.write_text(
        f"""
include: [{REPO}/cards/detectors/belle2.yaml, {REPO}/cards/beams/superkekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 1.0}}
run: {{seed: 1, events: 10, chunk_size: 10, output: {tmp_path / "x.h5"}}}
models:
  dark_photon: {{mass: 1.0, coupling: 1.0e-3}}
processes:
  sig: {{generator: ee_gamma_aprime, decay: mumu, mass: 2.0}}
"""
    )
    with pytest.raises(Exception, match="differs from the card's dark_photon point"):
        run(load_card(card), progress=False)
