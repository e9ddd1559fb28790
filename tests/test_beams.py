"""Beams and frames against the numbers derived independently in detector.md."""

from __future__ import annotations

import numpy as np

from fastsim.beams import BeamSetup, cm_to_lab, lab_to_cm
from fastsim.cards import load_card
from tests.conftest import CARDS


def setup(name: str) -> BeamSetup:
    return BeamSetup.from_card(load_card(CARDS / name)["beam"])


def test_superkekb_sqrt_s_and_boost() -> None:
    b = setup("belle2_run1.yaml")
    # detector.md section 1.1 [D]: sqrt(s) = 10.580 GeV, beta*gamma = 0.287 (z 0.2835, x 0.0432)
    assert abs(b.sqrt_s - 10.580) < 0.5e-3
    bg = b.boost_betagamma
    assert abs(np.linalg.norm(bg) - 0.287) < 1e-3
    assert abs(bg[2] - 0.2835) < 5e-4 and abs(bg[0] - 0.0432) < 5e-4 and bg[1] == 0.0
    # boost direction about 151 mrad from +z towards +x
    assert abs(np.arctan2(bg[0], bg[2]) - 0.151) < 2e-3


def test_kekb_boost() -> None:
    b = setup("belle.yaml")
    bg = b.boost_betagamma
    # detector.md 1.2: beta*gamma = 0.425 [V], 0.4254 from the preset with beta*gamma_x = 0.017 [D]
    assert abs(np.linalg.norm(bg) - 0.4254) < 5e-4
    assert abs(bg[0] - 0.017) < 1e-3
    assert abs(b.sqrt_s - 2 * np.sqrt(7.998213 * 3.499218) * np.cos(0.011)) < 1e-3


def test_energy_spread_and_sqrt_s_spread() -> None:
    b = setup("belle2_run1.yaml")
    rng = np.random.default_rng(3)
    her, ler = b.sample(200_000, rng)
    assert abs(np.std(her[:, 3]) / 0.00513 - 1) < 0.01
    assert abs(np.std(ler[:, 3]) / 0.002375 - 1) < 0.01
    tot = her + ler
    sqrt_s = np.sqrt(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1))
    # detector.md [D]: sqrt(s) spread ~ 5.0 MeV
    assert abs(np.std(sqrt_s) - 5.0e-3) < 0.25e-3


def test_cm_frame_beams_back_to_back_and_round_trip() -> None:
    b = setup("belle2_run1.yaml")
    rng = np.random.default_rng(4)
    her, ler = b.sample(1000, rng)
    beams_cm = lab_to_cm(np.stack([her, ler], axis=1), her, ler)
    tot = her + ler
    sqrt_s = np.sqrt(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1))
    # electron along +z with E = sqrt(s)/2, positron along -z
    assert np.allclose(beams_cm[:, 0, 3], sqrt_s / 2, rtol=1e-12)
    assert np.allclose(beams_cm[:, 0, :2], 0, atol=1e-9)
    assert np.all(beams_cm[:, 0, 2] > 0)
    assert np.allclose(beams_cm[:, 0, :3], -beams_cm[:, 1, :3], atol=1e-9)
    x = rng.normal(size=(1000, 3, 4))
    x[..., 3] = np.abs(x[..., 3]) + 5
    assert np.allclose(lab_to_cm(cm_to_lab(x, her, ler), her, ler), x, atol=1e-10)


def test_luminous_region() -> None:
    b = setup("belle2_run1.yaml")
    v = b.sample_vertices(400_000, np.random.default_rng(5))
    assert abs(np.std(v[:, 0]) / 6.41e-4 - 1) < 0.01
    assert abs(np.std(v[:, 2]) / 1.543e-2 - 1) < 0.01
    assert abs(np.corrcoef(v[:, 0], v[:, 2])[0, 1] + 0.271) < 0.01
