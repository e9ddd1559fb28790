"""Matrix-element processes: coupling scaling, widths and BRs, unweighted vs weighted
events, 4-muon antisymmetry, ISR normalisation, running from a card."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.cards import load_card
from fastsim.generators.ee_4mu import EE4Mu, me2_4mu
from fastsim.generators.ee_llx import EEMuMuScalar, EEMuMuZprime
from fastsim.generators.isr import Radiator
from fastsim.models.muonphilic_scalar import MuonphilicScalar
from fastsim.models.zprime import ZPrime
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

M_MU, M_TAU, M_E = 0.1056583755, 1.77693, 0.51099895e-3  # PDG 2024, GeV


def _beams(spread: bool = False) -> BeamSetup:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    return BeamSetup.from_card(beam)


def zprime_widths(m: float, g: float, *_masses: float) -> dict[str, float]:
    w = ZPrime(mass=m, coupling=g).widths
    return {
        "mumu": w.get((-13, 13), 0.0),
        "tautau": w.get((-15, 15), 0.0),
        "nunu": w[(14, -14)] + w[(16, -16)],
    }


def scalar_widths(m: float, g: float, *_masses: float) -> dict[str, float]:
    w = MuonphilicScalar(mass=m, coupling=g).widths
    return {"mumu": w.get((-13, 13), 0.0), "gammagamma": w[(22, 22)]}


def test_zprime_widths_and_brs() -> None:
    # physics.md section 1: BR(mumu) = BR(inv) = 1/2 below the tau threshold; 0.347/0.306/0.347 at 5 GeV
    for m in (1.0, 2.0, 3.0):
        w = zprime_widths(m, 1.0, M_MU, M_TAU)
        tot = sum(w.values())
        assert abs(w["nunu"] / tot - 0.5) < 3e-3 and abs(w["mumu"] / tot - 0.5) < 3e-3
    # near threshold the muon mass matters: BR(inv) = 1 / (1 + (1 + 2r) sqrt(1 - 4r)), r = m_mu^2/m^2
    r = (M_MU / 0.3) ** 2
    w = zprime_widths(0.3, 1.0, M_MU, M_TAU)
    assert abs(w["nunu"] / sum(w.values()) - 1 / (1 + (1 + 2 * r) * math.sqrt(1 - 4 * r))) < 1e-6
    w = zprime_widths(5.0, 1.0, M_MU, M_TAU)
    tot = sum(w.values())
    assert abs(w["mumu"] / tot - 0.347) < 1e-3 and abs(w["tautau"] / tot - 0.306) < 1e-3
    # Gamma_tot(g' = 1e-3) = 5.3e-8 GeV at 1 GeV (physics.md), scales as g'^2
    assert abs(sum(zprime_widths(1.0, 1e-3, M_MU, M_TAU).values()) / 5.3e-8 - 1) < 0.01
    # scalar: g^2 m / 8pi beta^3; the two-photon width is O(alpha^2) smaller
    s = scalar_widths(1.0, 1.0, M_MU)
    assert abs(s["mumu"] - 1 / (8 * math.pi) * (1 - 4 * M_MU**2) ** 1.5) < 1e-12
    assert s["gammagamma"] < 1e-4 * s["mumu"]


def test_sigma_scales_as_coupling_squared() -> None:
    beams = _beams()
    rng_p = np.random.default_rng(7)
    for cls in (EEMuMuZprime, EEMuMuScalar):
        g1 = cls({"mass": 2.0, "coupling": 1.0, "isr": False}, beams, ParticleTable())
        g2 = cls({"mass": 2.0, "coupling": 0.01, "isr": False}, beams, ParticleTable())
        pts = g1._points(2000, rng_p)
        p, M = pts["p_cm"], np.full(2000, beams.sqrt_s)
        r = (g2.me2(p, M) * g2.weight_factor()) / (g1.me2(p, M) * g1.weight_factor())
        ok = np.isfinite(r)
        assert np.allclose(r[ok], 1e-4, rtol=1e-9)
        # the generated cross sections too (independent MC samples, 4 sigma)
        _, t1 = g1.generate(3000, np.random.default_rng(1))
        _, t2 = g2.generate(3000, np.random.default_rng(2))
        err = math.hypot(t1.sigma_err_nb * 1e-4, t2.sigma_err_nb)
        assert abs(t2.sigma_nb - 1e-4 * t1.sigma_nb) < 4 * err


def test_4mu_amplitude_is_antisymmetric() -> None:
    # |M|^2 is symmetric under exchange of the identical muons (Fermi statistics)
    gen = EE4Mu({"isr": False}, _beams(), ParticleTable())
    pts = gen._points(300, np.random.default_rng(3))
    p = np.ascontiguousarray(pts["p_cm"])
    M = np.full(len(p), gen.beams.sqrt_s)
    e = -np.sqrt(4 * np.pi / 137.035999)
    m0 = me2_4mu(p, M, M_E, M_MU, e)
    m1 = me2_4mu(np.ascontiguousarray(p[:, [1, 0, 2, 3]]), M, M_E, M_MU, e)
    m2 = me2_4mu(np.ascontiguousarray(p[:, [0, 1, 3, 2]]), M, M_E, M_MU, e)
    good = m0 > 0
    assert np.allclose(m1[good], m0[good], rtol=1e-9) and np.allclose(m2[good], m0[good], rtol=1e-9)


def _hist_chi2(x_u: np.ndarray, x_w: np.ndarray, w: np.ndarray, edges: np.ndarray) -> tuple[float, int]:
    hu, _ = np.histogram(x_u, edges)
    hw, _ = np.histogram(x_w, edges, weights=w)
    hw2, _ = np.histogram(x_w, edges, weights=w * w)
    nu, nw = hu.sum(), hw.sum()
    # chi2 of two normalised histograms (unweighted counts vs weighted sums)
    var = hu / nu**2 + hw2 / nw**2
    ok = var > 0
    chi2 = np.sum((hu[ok] / nu - hw[ok] / nw) ** 2 / var[ok])
    return float(chi2), int(ok.sum()) - 1


def test_unweighted_events_reproduce_weighted() -> None:
    beams = _beams()
    # unweighting only: no FSR (it would make the records irregular; it does not touch weights)
    cfg = {"mass": 1.5, "coupling": 1.0, "isr": True, "fsr": False}
    gu = EEMuMuZprime(cfg, beams, ParticleTable())
    gw = EEMuMuZprime({**cfg, "weighted": True}, beams, ParticleTable())
    bu, _ = gu.generate(20000, np.random.default_rng(11))
    bw, _ = gw.generate(20000, np.random.default_rng(12))

    def observables(batch) -> tuple[np.ndarray, np.ndarray]:
        mc = batch["mc"]
        k = mc.offsets[1] - mc.offsets[0]
        p = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1).reshape(-1, k, 4)
        ids = mc["id"].reshape(-1, k)[0]
        st = mc["status"].reshape(-1, k)[0]
        i_mu = np.flatnonzero((ids == 13) & (st == 1))[0]  # mu- radiating the Z'
        i_mub = np.flatnonzero((ids == -13) & (st == 1))[0]
        pair = p[:, i_mu] + p[:, i_mub]
        mass = np.sqrt(np.maximum(pair[:, 3] ** 2 - np.sum(pair[:, :3] ** 2, axis=1), 0))
        cm = lab_to_cm(p[:, i_mu : i_mu + 1], p[:, 0], p[:, 1])[:, 0]
        return mass, cm[:, 2] / np.linalg.norm(cm[:, :3], axis=1)

    mu, cu = observables(bu)
    mw, cw = observables(bw)
    w = bw.events["weight"]
    assert np.std(w) > 0.1 * np.mean(w)  # the weighted sample really is weighted
    for xu, xw, edges in ((mu, mw, np.linspace(0.2, 9.0, 23)), (cu, cw, np.linspace(-1, 1, 21))):
        chi2, ndf = _hist_chi2(xu, xw, w, edges)
        assert stats.chi2.sf(chi2, ndf) > 1e-3, (chi2, ndf)
    # ... and the test has power: the unweighted sample differs from the weighted one read without weights
    chi2, ndf = _hist_chi2(mu, mw, np.ones_like(w), np.linspace(0.2, 9.0, 23))
    assert stats.chi2.sf(chi2, ndf) < 1e-6


def test_isr_radiator_normalisation() -> None:
    # int_0^1 F(x) dx = 1 + (alpha/pi)(pi^2/3 - 1/2) + O(beta^2) (soft + virtual, no hard
    # log): the radiator conserves probability up to the non-log O(alpha) constant
    rad = Radiator(10.58**2, M_E)
    from scipy import integrate

    reg, _ = integrate.quad(lambda x: rad.F(x) - rad.beta * x ** (rad.beta - 1) * rad.norm, 0, 1, limit=200)
    total = rad.norm + reg
    assert abs(total - 1 - 0.0072973525 / math.pi * (math.pi**2 / 3 - 0.5)) < 0.01
    # the sampler reproduces the integral of F (importance-sampled mean of the weights)
    _x, w = rad.sample(400_000, 0.9, np.random.default_rng(5))
    ref, _ = integrate.quad(lambda x: rad.F(x) - rad.beta * x ** (rad.beta - 1) * rad.norm, 0, 0.9, limit=200)
    ref += rad.norm * 0.9**rad.beta
    assert abs(np.mean(w) / ref - 1) < 3e-3


def test_processes_run_from_card(tmp_path) -> None:
    import h5py

    from fastsim.cards import load_card as lc
    from fastsim.run import run

    card = tmp_path / "c.yaml"
    card.write_text(
        f"""
include: [{CARDS}/detectors/belle2.yaml, {CARDS}/beams/superkekb_y4s.yaml]
run: {{seed: 3, events: 400, chunk_size: 200, output: out.h5, workers: 1}}
dataset: {{name: t, luminosity_fb: 1.0}}
decays: {{enabled: false}}
processes:
  zp: {{generator: ee_mumu_zprime, mass: 1.0, coupling: 0.01, decay: mumu}}
  s: {{generator: ee_mumu_scalar, mass: 1.0, coupling: 0.01}}
  mmg: {{generator: ee_mumugamma, events: 100}}
"""
    )
    summary = run(lc(card), output=tmp_path / "o.h5", progress=False)
    procs = {p["name"]: p for p in summary.processes}
    assert abs(procs["zp"]["model"]["branching_fractions"]["mu+ mu-"] - 0.5) < 1e-3
    # sigma x BR at g' = 0.01 is 1e-4 of the g' = 1 value (~ 5e-2 nb at 1 GeV): order of magnitude
    assert 1e-6 < procs["zp"]["sigma_nb"] < 1e-5
    with h5py.File(summary.output) as f:
        assert f is not None


def test_4mu_cached_kernel_equals_direct_diagram_sum() -> None:
    from fastsim.constants import ALPHA_EM
    from fastsim.generators.ee_4mu import me2_4mu_direct

    g = EE4Mu({"isr": False}, _beams(), ParticleTable())
    p = np.ascontiguousarray(g._points(300, np.random.default_rng(4))["p_cm"])
    M = np.full(len(p), g.beams.sqrt_s)
    e = -math.sqrt(4 * math.pi * ALPHA_EM)
    a = me2_4mu(p, M, g.m_e, g.m_mu, e)
    b = me2_4mu_direct(p, M, g.m_e, g.m_mu, e)
    assert np.all(b > 0) and np.allclose(a, b, rtol=1e-10, atol=0)
