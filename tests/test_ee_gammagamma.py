"""e+e- -> gamma gamma (gamma) (fastsim/generators/ee_gammagamma.py): the two-photon amplitude
and cross section against lowest-order QED in closed form (massless and massive), the
three-photon amplitude against the Berends-Kleiss compact formula and the Ward identity, the
three-photon cross section against an independent flat (RAMBO) integration of that formula,
and a run from a card."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.cards import load_card
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_gammagamma import EEGammaGamma, me2_2gamma, me2_3gamma, ward_ratio_3gamma
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

E_CHARGE = math.sqrt(4 * math.pi * ALPHA_EM)


def _beams() -> BeamSetup:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    return BeamSetup.from_card(beam)


def _gen(**params: object) -> EEGammaGamma:
    return EEGammaGamma(dict(params), _beams(), ParticleTable())


def _sigma(gen: EEGammaGamma, n: int, seed: int) -> tuple[float, float]:
    """Weighted Monte Carlo estimate (nb) and its statistical error from n trial points."""
    gen._ensure_trained()
    w = gen._points(n, np.random.default_rng(seed))["w"]
    return float(w.mean()), float(w.std() / math.sqrt(n))


def _mdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 3] * b[..., 3] - np.sum(a[..., :3] * b[..., :3], axis=-1)


# ------------------------------------------------------------------ 1. two photons
# Lowest-order QED, massless limit (Peskin & Schroeder sec. 5.5 and problem 5.3; Berestetskii,
# Lifshitz, Pitaevskii "Quantum Electrodynamics" sec. 88):  1/4 sum |M|^2 = 2 e^4 (u/t + t/u),
# so dsigma/dOmega = |M|^2 / (64 pi^2 s) = (alpha^2 / s)(1 + c^2)/(1 - c^2) for the direction of
# one photon.  With the identical-photon factor 1/2, sigma(|c| < C) = (pi alpha^2 / s) [F(C) -
# F(-C)], F(c) = ln((1 + c)/(1 - c)) - c, i.e. (2 pi alpha^2 / s) [ln((1 + C)/(1 - C)) - C].
def _born_f(c: np.ndarray | float) -> np.ndarray | float:
    return np.log((1 + c) / (1 - c)) - c


def _sigma_born(s: float, c_max: float) -> float:
    return 2 * math.pi * ALPHA_EM**2 / s * (math.log((1 + c_max) / (1 - c_max)) - c_max) * GEV2_TO_NB


def test_two_photon_dsigma_domega_pointwise() -> None:
    """|M|^2 / (64 pi^2 s) at 200 random directions with |cos| < 0.99 equals the massless
    formula within 1e-6 (the electron-mass terms are ~ m_e^2 / (s (1 - |c|)) < 1e-8)."""
    gen = _gen(photons=2)
    rng = np.random.default_rng(1)
    n = 200
    sq = gen.beams.sqrt_s
    c = rng.uniform(-0.99, 0.99, n)
    phi = rng.uniform(0, 2 * math.pi, n)
    st = np.sqrt(1 - c * c)
    p = np.zeros((n, 2, 4))
    d = np.stack([st * np.cos(phi), st * np.sin(phi), c], axis=1) * 0.5 * sq
    p[:, 0, :3], p[:, 1, :3] = d, -d
    p[:, :, 3] = 0.5 * sq
    s = sq * sq
    me = me2_2gamma(p, np.full(n, sq), gen.m_e, gen.ce)
    dsdo = me / (64 * math.pi**2 * s)
    ref = ALPHA_EM**2 / s * (1 + c * c) / (1 - c * c)
    np.testing.assert_allclose(dsdo, ref, rtol=1e-6)


@pytest.mark.parametrize("c_max", [0.5, 0.95])
def test_two_photon_sigma_in_acceptance(c_max: float) -> None:
    """sigma(|cos theta*| < C) from 2e5 weighted points equals the closed form within 1 % (and
    4 standard errors); measured -0.04 % (C = 0.5, 0.70 nb) and -0.2 % (C = 0.95, 3.16 nb).
    The weighted cos theta* distribution of photon 0 in 5 bins follows the formula
    (each bin within 3 % and 4 standard errors)."""
    gen = _gen(photons=2, cos_theta_max=c_max)
    gen._ensure_trained()
    n = 200_000
    pts = gen._points(n, np.random.default_rng(2))
    w = pts["w"]
    sig, err = float(w.mean()), float(w.std() / math.sqrt(n))
    s = gen.beams.sqrt_s**2
    ref = _sigma_born(s, c_max)
    assert abs(sig / ref - 1) < 0.01 and abs(sig - ref) < 4 * err, (sig, err, ref)
    q = pts["p_cm"][:, 0]
    c = q[:, 2] / np.linalg.norm(q[:, :3], axis=1)
    edges = np.linspace(-c_max, c_max, 6)
    idx = np.clip(np.digitize(c, edges) - 1, 0, 4)
    for b in range(5):
        wb = np.where(idx == b, w, 0.0)
        got, e = wb.mean(), wb.std() / math.sqrt(n)
        exp = math.pi * ALPHA_EM**2 / s * (_born_f(edges[b + 1]) - _born_f(edges[b])) * GEV2_TO_NB
        assert abs(got / exp - 1) < 0.03 and abs(got - exp) < 4 * e, (b, got, exp)


def test_two_photon_total_massive() -> None:
    """cos_theta_max = 1: the electron mass regulates the forward peak; sigma equals Dirac's
    total annihilation cross section (Berestetskii, Lifshitz, Pitaevskii sec. 88: for a
    positron of Lorentz factor g on an electron at rest, sigma = pi r_e^2 / (g + 1)
    [(g^2 + 4g + 1)/(g^2 - 1) ln(g + sqrt(g^2 - 1)) - (g + 3)/sqrt(g^2 - 1)],
    s = 2 m^2 (1 + g)), ~ (2 pi alpha^2 / s) (ln(s / m_e^2) - 1) = 21.97 nb at 10.58 GeV, within 1 % (measured +0.03 %)."""
    gen = _gen(photons=2, cos_theta_max=1.0)
    s = gen.beams.sqrt_s**2
    m = gen.m_e
    g = s / (2 * m * m) - 1
    r = math.sqrt(g * g - 1)
    re2 = (ALPHA_EM / m) ** 2  # classical electron radius squared (GeV^-2, hbar = c = 1)
    ref = (
        math.pi
        * re2
        / (g + 1)
        * ((g * g + 4 * g + 1) / (g * g - 1) * math.log(g + r) - (g + 3) / r)
        * GEV2_TO_NB
    )
    sig, err = _sigma(gen, 100_000, 3)
    assert abs(sig / ref - 1) < 0.01 and abs(sig - ref) < 4 * err, (sig, err, ref)


# ------------------------------------------------------------------ 2. three photons
def _berends_kleiss(p: np.ndarray, sqrt_s: float) -> np.ndarray:
    """Massless e+e- -> 3 gamma, beam spins averaged and photon polarisations summed (Berends &
    Kleiss, Nucl. Phys. B186 (1981) 22):  |M|^2 = e^6 s sum_i k_i k'_i (k_i^2 + k'_i^2) /
    prod_j k_j k'_j,  k_i = p+.q_i, k'_i = p-.q_i.  (Its soft limit q_3 -> 0 is the eikonal
    factor e^2 s / (k_3 k'_3) times the 2-photon 2 e^4 (k_1^2 + k_1'^2) / (k_1 k_1').)"""
    pm = np.array([0.0, 0.0, 0.5 * sqrt_s, 0.5 * sqrt_s])
    pp = np.array([0.0, 0.0, -0.5 * sqrt_s, 0.5 * sqrt_s])
    k = _mdot(pp[None, None, :], p)
    kp = _mdot(pm[None, None, :], p)
    return E_CHARGE**6 * sqrt_s**2 * np.sum(k * kp * (k * k + kp * kp), axis=1) / np.prod(k * kp, axis=1)


def _three_photon_points(gen: EEGammaGamma, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points of all phase-space channels where every p.q > 0.05 GeV^2 (>> m_e^2)."""
    M = np.full(n, gen.beams.sqrt_s)
    p, _, _ = gen.phase_space.generate(M, np.random.default_rng(seed))
    pm = np.array([0.0, 0.0, 0.5 * M[0], 0.5 * M[0]])
    pp = pm * np.array([1, 1, -1, 1])
    ok = np.all((_mdot(pm, p) > 0.05) & (_mdot(pp, p) > 0.05), axis=1)
    return np.ascontiguousarray(p[ok]), M[ok]


def test_three_photon_me_against_berends_kleiss() -> None:
    """The six-diagram helicity sum (m_e kept) equals the massless compact formula at random
    points within 1e-4 (mass corrections ~ m_e^2 / (p.q) < 1e-5; measured ~ 1e-7)."""
    gen = _gen(photons=3, e3_min=0.05)
    p, M = _three_photon_points(gen, 400, 4)
    assert len(p) > 100
    me = me2_3gamma(p, M, gen.m_e, gen.ce)
    np.testing.assert_allclose(me, _berends_kleiss(p, M[0]), rtol=1e-4)


@pytest.mark.parametrize("j", [0, 1, 2])
def test_three_photon_ward_identity(j: int) -> None:
    """eps_j -> q_j / E_j: the six diagrams cancel for all 32 helicities,
    |M| < 1e-7 of the largest helicity amplitude (double precision gives ~1e-12)."""
    gen = _gen(photons=3, e3_min=0.05)
    p, M = _three_photon_points(gen, 100, 5)
    r = ward_ratio_3gamma(p, M, gen.m_e, gen.ce, j)
    assert np.max(r) < 1e-7, np.max(r)


# ------------------------------------------------------------------ 3. cross sections
# Published reference: the Belle II Physics Book (arXiv:1808.10567) lists e+e- -> gamma gamma
# (gamma) from BabaYaga@NLO (matched NLO + parton shower) for the Belle II acceptance at a few
# nb; the table could not be retrieved here to confirm the value and its cuts, and a tree-level
# generator differs from matched NLO by the O(alpha/pi ln) corrections (a few per cent in the
# barrel).  The three-photon generator is therefore tested against the tree-level integral of
# the Berends-Kleiss formula with the same cuts, by an independent flat phase-space sampler.
def _rambo(n: int, sqrt_s: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Flat massless 3-body phase space (Kleiss, Stirling, Ellis, Comput. Phys. Commun. 40
    (1986) 359): momenta (n, 3, 4) and the constant weight = phase-space volume
    (2 pi)^(4 - 3k) (pi / 2)^(k - 1) s^(k - 2) / ((k - 1)! (k - 2)!) = s / (256 pi^3), k = 3."""
    k = 3
    c = 2 * rng.random((n, k)) - 1
    phi = 2 * math.pi * rng.random((n, k))
    e = -np.log(rng.random((n, k)) * rng.random((n, k)))
    st = np.sqrt(1 - c * c)
    q = np.stack([e * st * np.cos(phi), e * st * np.sin(phi), e * c, e], axis=2)
    tot = q.sum(axis=1)
    mass = np.sqrt(_mdot(tot, tot))
    b = -tot[:, :3] / mass[:, None]
    x = sqrt_s / mass
    gam = tot[:, 3] / mass
    a = 1 / (1 + gam)
    bq = np.sum(b[:, None, :] * q[:, :, :3], axis=2)
    p = np.empty_like(q)
    p[:, :, 3] = x[:, None] * (gam[:, None] * q[:, :, 3] + bq)
    p[:, :, :3] = x[:, None, None] * (
        q[:, :, :3] + b[:, None, :] * (q[:, :, 3:4] + a[:, None, None] * bq[:, :, None])
    )
    return p, sqrt_s**2 / (256 * math.pi**3)


def test_three_photon_sigma_against_flat_integration() -> None:
    """sigma(e+e- -> 3 gamma), cuts: two hardest |cos| < 0.9, softest E > 0.5 GeV and |cos| < 0.9
    (CM, no ISR): the generator (1e5 points) and RAMBO x Berends-Kleiss (4e5 points) agree within
    4 combined standard errors and 4 %; measured 0.0578 +- 0.0003 nb against
    0.0575 +- 0.0002 nb."""
    params = {"photons": 3, "e3_min": 0.5, "cos_theta_max": 0.9, "e3_cos_theta_max": 0.9}
    gen = _gen(**params)
    sig, err = _sigma(gen, 100_000, 6)
    sq = gen.beams.sqrt_s
    rng = np.random.default_rng(7)
    vals = []
    for _ in range(4):
        p, vol = _rambo(100_000, sq, rng)
        ok = gen.cut(p)
        f = np.zeros(len(p))
        f[ok] = _berends_kleiss(p[ok], sq)
        vals.append(f * vol / (2 * sq * sq) / 6 * GEV2_TO_NB)  # flux 2s, symmetry 1/3!
    v = np.concatenate(vals)
    ref, rerr = float(v.mean()), float(v.std() / math.sqrt(len(v)))
    assert abs(sig - ref) < 4 * math.hypot(err, rerr) and abs(sig / ref - 1) < 0.04, (sig, err, ref, rerr)


# ------------------------------------------------------------------ 4. a card run
def test_run_from_card(tmp_path) -> None:
    """2000 unweighted events each of gamma gamma and gamma gamma gamma through the card
    machinery (Belle II beams with energy spread): the record holds 2 / 3 photons, the cuts
    hold in the CM frame of the recorded beams (edges within 1e-6), and the cross sections
    are near the tree-level values (2 photons, |cos| < 0.95: 3.16 nb within 3 %; 3 photons,
    E3 > 0.1 GeV, |cos3| < 0.95: 0.18 nb within 15 %)."""
    from fastsim.io import open_events
    from fastsim.run import run

    card = tmp_path / "c.yaml"
    card.write_text(
        f"""
include: [{CARDS}/detectors/belle2.yaml, {CARDS}/beams/superkekb_y4s.yaml]
run: {{seed: 5, events: 2000, chunk_size: 1000, output: out.h5, workers: 1}}
dataset: {{name: t, luminosity_fb: 1.0}}
decays: {{enabled: false}}
processes:
  gg: {{generator: ee_gammagamma}}
  ggg: {{generator: ee_gammagamma, photons: 3, e3_min: 0.1, e3_cos_theta_max: 0.95}}
"""
    )
    summary = run(load_card(card), output=tmp_path / "o.h5", progress=False)
    procs = {p["name"]: p for p in summary.processes}
    s = 10.58**2
    assert abs(procs["gg"]["sigma_nb"] / _sigma_born(s, 0.95) - 1) < 0.03, procs["gg"]
    assert abs(procs["ggg"]["sigma_nb"] / 0.18 - 1) < 0.15, procs["ggg"]
    with open_events(summary.output) as f:
        batch = f.read_events()
    mc = batch["mc"]
    size = np.diff(mc.offsets)
    assert set(size.tolist()) == {4, 5} and np.sum(size == 4) == 2000 and np.sum(size == 5) == 2000
    for k in (4, 5):
        rows = np.flatnonzero(size == k)
        idx = (mc.offsets[rows][:, None] + np.arange(k)[None, :]).ravel()
        ids = mc["id"][idx].reshape(-1, k)
        assert np.all(ids[:, 2:] == 22)
        p4 = np.stack([mc["px"][idx], mc["py"][idx], mc["pz"][idx], mc["e"][idx]], axis=1).reshape(-1, k, 4)
        cm = lab_to_cm(p4[:, 2:], p4[:, 0], p4[:, 1])
        e = cm[..., 3]
        c = np.abs(cm[..., 2] / np.linalg.norm(cm[..., :3], axis=2))
        order = np.argsort(-e, axis=1)
        e, c = np.take_along_axis(e, order, 1), np.take_along_axis(c, order, 1)
        assert np.all(c[:, :2] < 0.95 + 1e-6)
        np.testing.assert_allclose(cm[..., :4].sum(axis=1)[:, :3], 0.0, atol=1e-6)
        if k == 5:
            assert np.all(e[:, 2] > 0.1 - 1e-6) and np.all(c[:, 2] < 0.95 + 1e-6)
