"""Shared fixtures: small cards written to a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CARDS = REPO / "cards"


def write_card(tmp_path: Path, body: str, name: str = "card.yaml") -> Path:
    """A run card in ``tmp_path`` including the shipped Belle II detector and beam cards."""
    path = tmp_path / name
    path.write_text(body)
    return path


SMALL_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 7, events: {events}, chunk_size: {chunk}, output: out.h5, workers: 1}}
dataset: {{name: test, luminosity_fb: 1.0}}
processes:
  ee_mumu: {{generator: ee_mumu}}
"""


@pytest.fixture
def small_card(tmp_path: Path) -> Path:
    return write_card(tmp_path, SMALL_CARD.format(events=2000, chunk=500))


def run_cli(*args: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """``python -m fastsim ARGS`` with this checkout importable, output captured as text."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "fastsim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


#: the four-muon test sample: two signal points and the two backgrounds through the whole chain
ZP4MU_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 5, events: 600, chunk_size: 600, output: x.h5, workers: 1}
dataset: {name: test, luminosity_fb: 178.0}
processes:
  zp2: {generator: ee_mumu_zprime, mass: 2.0, coupling: 0.001}
  s5: {generator: ee_mumu_scalar, mass: 5.0, coupling: 0.002}
  sm_4mu: {generator: ee_4mu, events: 1500}
  sm_mumugamma: {generator: ee_mumugamma, events: 400, photon_energy_min: 0.5}
"""


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four-muon test sample (``ZP4MU_CARD``), simulated once per test session."""
    from fastsim.cards import load_card
    from fastsim.run import run

    tmp = tmp_path_factory.mktemp("zp4mu")
    card = load_card(write_card(tmp, ZP4MU_CARD))
    out = tmp / "sample.h5"
    run(card, output=out, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def sample_float64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sample stored with every float64 kept (``run.float32: false``): the events of
    ``sample`` without the float32 rounding of the measured quantities."""
    from fastsim.cards import load_card
    from fastsim.run import run

    tmp = tmp_path_factory.mktemp("zp4mu64")
    card = load_card(write_card(tmp, ZP4MU_CARD), {"run": {"float32": False}})
    out = tmp / "sample64.h5"
    run(card, output=out, workers=1, progress=False)
    return out
