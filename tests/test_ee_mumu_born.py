"""e+e- -> mu+mu- Born (analytic generator ee_mumu_born): cross section, angular distribution, kinematics after the boost."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.cards import load_card
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_mumu import EEMuMuBorn
from fastsim.generators.ee_mumu_born import EEMuMuBornAnalytic, born_sigma_nb
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

M_MU = 0.1056583755  # PDG 2024, GeV: an independent check of the table lookup


def generator(spread: bool = True, cos_max: float = 1.0, kind: str = "analytic") -> Any:
    """The analytic Born generator, or the amplitude-based ``ee_mumu`` at Born level (no ISR, FSR, Z)."""
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    if kind == "analytic":
        return EEMuMuBornAnalytic({"cos_theta_max": cos_max}, BeamSetup.from_card(beam), ParticleTable())
    params = {"cos_theta_max": cos_max, "isr": False, "z_exchange": False, "fsr": False}
    return EEMuMuBorn(params, BeamSetup.from_card(beam), ParticleTable())


BOTH = pytest.mark.parametrize("kind", ["analytic", "amplitudes"])


def test_born_formula_against_textbook() -> None:
    s = 10.58**2
    beta = np.sqrt(1 - 4 * M_MU**2 / s)
    expected = 4 * np.pi * ALPHA_EM**2 / (3 * s) * beta * (3 - beta**2) / 2 * GEV2_TO_NB
    assert abs(born_sigma_nb(s, M_MU) / expected - 1) < 1e-12
    # physics.md section 1: point cross section 4 pi alpha^2/3s = 0.776 nb at 10.58 GeV
    assert abs(born_sigma_nb(s, 0.0) - 0.776) < 0.001
    # the |cos| < c cut integrates the massless 1 + cos^2 shape
    assert abs(born_sigma_nb(s, 0.0, 0.5) / born_sigma_nb(s, 0.0) - (0.5 + 0.5**3 / 3) / (4 / 3)) < 1e-12


def test_generated_cross_section_matches_formula() -> None:
    gen = generator(spread=True)
    _batch, tally = gen.generate(20_000, np.random.default_rng(1))
    s0 = gen.beams.sqrt_s**2
    # with a 5 MeV sqrt(s) spread the average of sigma(s) differs from sigma(s0) by < 1e-6
    assert abs(tally.sigma_nb / born_sigma_nb(s0, M_MU) - 1) < 1e-3
    assert abs(gen.m_mu - M_MU) < 1e-9


@BOTH
def test_kinematics_after_boost(kind: str) -> None:
    gen = generator(spread=True, kind=kind)
    batch, _ = gen.generate(5000, np.random.default_rng(2))
    mc = batch["mc"]
    p = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1).reshape(-1, 4, 4)
    beams = p[:, 0] + p[:, 1]
    muons = p[:, 2] + p[:, 3]
    assert np.allclose(muons, beams, rtol=0, atol=1e-9)  # four-momentum conservation
    m2 = p[:, 2:, 3] ** 2 - np.sum(p[:, 2:, :3] ** 2, axis=2)
    assert np.allclose(np.sqrt(m2), M_MU, atol=1e-7)
    sqrt_s = np.sqrt(muons[:, 3] ** 2 - np.sum(muons[:, :3] ** 2, axis=1))
    assert np.all(np.abs(sqrt_s - 10.58) < 0.05)
    assert mc["id"].reshape(-1, 4)[0].tolist() == [11, -11, 13, -13]


@BOTH
def test_angular_distribution_chi_square(kind: str) -> None:
    gen = generator(spread=False, kind=kind)
    n = 400_000
    batch, _ = gen.generate(n, np.random.default_rng(3))
    mc = batch["mc"]
    p = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1).reshape(-1, 4, 4)
    cm = lab_to_cm(p[:, 2:3], p[:, 0], p[:, 1])[:, 0]
    cos_t = cm[:, 2] / np.linalg.norm(cm[:, :3], axis=1)
    s = gen.beams.sqrt_s**2
    b2 = 1 - 4 * M_MU**2 / s
    edges = np.linspace(-1, 1, 41)
    counts, _ = np.histogram(cos_t, edges)
    # integral of (2 - b2) + b2 x^2 over each bin, normalised
    cdf = (2 - b2) * edges + b2 * edges**3 / 3
    expected = n * np.diff(cdf) / (cdf[-1] - cdf[0])
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, len(counts) - 1) > 1e-3, chi2
    # and a flat distribution is rejected by the same test (the test has power)
    flat = np.full_like(expected, n / len(expected))
    assert stats.chi2.sf(np.sum((counts - flat) ** 2 / flat), len(counts) - 1) < 1e-6
