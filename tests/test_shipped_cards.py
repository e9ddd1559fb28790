"""Every card shipped in `cards/` runs as a user would run it (issue #23, item 4): run cards
through `fastsim run` at 200 events per process, grid cards through `fastsim grid` at 200
events per simulation (the command line's entry point, ``fastsim.cli.main``); any error (exit
status not 0) fails the test with its stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted((ROOT / "cards").glob("*.yaml"))


def test_the_shipped_cards_are_found() -> None:
    assert len(CARDS) >= 10


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.name)
def test_every_shipped_card_runs(
    card: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load(card.read_text())
    if "grid" in raw:
        cmd = ["grid", str(card), "--quiet", "--set", "run.events=200", "--set", "run.chunk_size=200"]
        for name, proc in (raw.get("processes") or {}).items():  # per-process counts too
            if isinstance(proc, dict) and "events" in proc:
                cmd += ["--set", f"processes.{name}.events=200"]
        # both cores of the CI machine (a grid's tasks are independent)
        cmd += ["--workers", "2", "-o", str(tmp_path / "grid")]
    else:
        cmd = ["run", str(card), "--quiet", "--events", "200", "-o", str(tmp_path / "out.h5")]
    # the command line's own entry point, in this process (a subprocess per card would add
    # its interpreter and import start-up, ~4 s, to every card)
    from fastsim.cli import main

    monkeypatch.chdir(ROOT)
    rc = main(cmd)
    assert rc in (0, None), f"{card.name}: exit {rc}\n{capsys.readouterr().err[-3000:]}"
    if "grid" not in raw:
        assert (tmp_path / "out.h5").exists()


#: the run cards (fastsim grid does not compile ahead: fastsim.run is called with its default)
RUN_CARDS = [c for c in CARDS if "grid" not in yaml.safe_load(c.read_text())]


@pytest.mark.parametrize("card", RUN_CARDS, ids=lambda p: p.name)
def test_every_shipped_card_has_a_compile_ahead_card(card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cold numba cache `fastsim run` compiles the detector kernels in a helper process
    from the card with its processes replaced by particle guns (fastsim.warmup); that card must
    validate for every shipped card (a skim card once failed there, exit 2, on fresh installs
    only, where the cache is cold)."""
    from fastsim.cards import load_card
    from fastsim.warmup import _gun_card

    monkeypatch.chdir(ROOT)
    gun = _gun_card(load_card(card), detector_only=True)
    assert set(gun["processes"]) and all(p["generator"] == "particle_gun" for p in gun["processes"].values())
    assert not gun["run"]["skim"] and gun["run"]["selection"] is None
