"""Card loading and validation: every class of bad card gives a CardError naming file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fastsim.cards import load_card
from fastsim.schema import CardError
from tests.conftest import CARDS, SMALL_CARD, run_cli, write_card


def test_shipped_cards_validate() -> None:
    for name in ("belle2_run1.yaml", "belle.yaml"):
        card = load_card(CARDS / name)
        assert card["detector"]["name"] in ("belle2", "belle")
        assert card["dataset"]["luminosity_fb"] > 0


def test_every_shipped_card_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastsim.grid import plan_grid

    monkeypatch.chdir(CARDS.parent)  # the external cards name their samples from the top directory
    for path in sorted(CARDS.glob("*.yaml")):
        if "grid" in yaml.safe_load(path.read_text()):
            with pytest.raises(CardError, match="fastsim grid"):
                load_card(path)
            assert plan_grid(path)[1]
        else:
            assert load_card(path)["processes"]


def test_resolved_card_reloads_identically(tmp_path: Path) -> None:
    card = load_card(CARDS / "belle2_run1.yaml")
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(card.text())
    again = load_card(resolved)
    assert again == card
    assert again.text() == card.text()


def test_override_in_run_card_wins(tmp_path: Path) -> None:
    body = SMALL_CARD.format(events=10, chunk=10) + "beam:\n  her: {energy: 7.1}\n"
    card = load_card(write_card(tmp_path, body))
    assert card["beam"]["her"]["energy"] == 7.1
    assert card["beam"]["ler"]["energy"] == 4.002  # untouched value from the preset


def _error(tmp_path: Path, body: str) -> CardError:
    with pytest.raises(CardError) as info:
        load_card(write_card(tmp_path, body))
    return info.value


def test_unknown_key_did_you_mean(tmp_path: Path) -> None:
    err = _error(tmp_path, SMALL_CARD.format(events=10, chunk=10).replace("chunk_size", "chunk_sise"))
    assert err.path == ("run", "chunk_sise")
    assert "did you mean 'chunk_size'" in str(err)
    assert str(tmp_path / "card.yaml") in str(err)


def test_unknown_generator(tmp_path: Path) -> None:
    err = _error(
        tmp_path, SMALL_CARD.format(events=10, chunk=10).replace("generator: ee_mumu", "generator: ee_mumuu")
    )
    assert err.path == ("processes", "ee_mumu", "generator")
    assert "did you mean 'ee_mumu'" in str(err)


def test_wrong_type(tmp_path: Path) -> None:
    err = _error(tmp_path, SMALL_CARD.format(events="many", chunk=10))
    assert err.path == ("run", "events")
    assert "integer" in err.reason


def test_out_of_range(tmp_path: Path) -> None:
    err = _error(tmp_path, SMALL_CARD.format(events=-5, chunk=10))
    assert err.path == ("run", "events")
    assert ">= 1" in err.reason


def test_error_names_the_included_file(tmp_path: Path) -> None:
    det = yaml.safe_load((CARDS / "detectors" / "belle2.yaml").read_text())
    det["detector"]["solenoid"]["field_t"] = -1.5
    (tmp_path / "det.yaml").write_text(yaml.safe_dump(det))
    body = SMALL_CARD.format(events=10, chunk=10).replace("detectors/belle2.yaml", "det.yaml")
    err = _error(tmp_path, body)
    assert err.path == ("detector", "solenoid", "field_t")
    assert err.file == str(tmp_path / "det.yaml")


def test_malformed_yaml(tmp_path: Path) -> None:
    err = _error(tmp_path, "run: {seed: 1\nprocesses: [")
    assert "malformed YAML" in err.reason
    assert "line" in err.reason


def test_duplicate_key(tmp_path: Path) -> None:
    err = _error(tmp_path, SMALL_CARD.format(events=10, chunk=10) + "run: {seed: 2}\n")
    assert "duplicate key 'run'" in err.reason


def test_missing_include(tmp_path: Path) -> None:
    err = _error(
        tmp_path, SMALL_CARD.format(events=10, chunk=10).replace("detectors/belle2.yaml", "nope.yaml")
    )
    assert err.path == ("include", 0)
    assert "not found" in err.reason


def test_negative_lifetime(tmp_path: Path) -> None:
    body = SMALL_CARD.format(events=10, chunk=10) + (
        "particles:\n  9900025: {name: S, mass: 1.0, ctau: -3.0, decays: [{br: 1.0, daughters: [13, -13]}]}\n"
    )
    err = _error(tmp_path, body)
    assert err.path == ("particles", 9900025, "ctau")
    assert ">= 0.0" in err.reason


def test_mass_below_threshold(tmp_path: Path) -> None:
    body = SMALL_CARD.format(events=10, chunk=10) + (
        "particles:\n  9900025: {name: S, mass: 0.2, ctau: 3.0, decays: [{br: 1.0, daughters: [13, -13]}]}\n"
    )
    err = _error(tmp_path, body)
    assert err.path == ("particles", 9900025, "mass")
    assert "threshold" in err.reason


def test_branching_fractions_must_add_up(tmp_path: Path) -> None:
    body = SMALL_CARD.format(events=10, chunk=10) + (
        "particles:\n  9900025: {name: S, mass: 1.0, ctau: 3.0, decays: [{br: 0.4, daughters: [13, -13]}]}\n"
    )
    assert "add up" in _error(tmp_path, body).reason


def test_process_below_threshold(tmp_path: Path) -> None:
    body = SMALL_CARD.format(events=10, chunk=10) + "beam:\n  her: {energy: 0.05}\n  ler: {energy: 0.05}\n"
    err = _error(tmp_path, body)
    assert err.path[:2] == ("processes", "ee_mumu")
    assert "threshold" in err.reason


def test_cli_bad_card_exit_2_one_line_nothing_written(tmp_path: Path) -> None:
    card = write_card(tmp_path, SMALL_CARD.format(events=10, chunk=10).replace("seed", "sed"))
    proc = run_cli("run", str(card), "-o", str(tmp_path / "x.h5"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "run.sed" in lines[0] and "did you mean 'seed'" in lines[0]
    assert list(tmp_path.glob("x.h5*")) == []


def test_cli_validate_prints_resolved_card(tmp_path: Path) -> None:
    proc = run_cli("validate", str(CARDS / "belle2_run1.yaml"), "--set", "run.seed=5", check=True)
    resolved = yaml.safe_load(proc.stdout)
    assert resolved["run"]["seed"] == 5
    assert resolved["beam"]["her"]["energy"] == 7.004


def test_card_reference_is_current() -> None:
    from fastsim.card_reference import reference_markdown

    assert (CARDS.parent / "docs" / "cards.md").read_text() == reference_markdown(), (
        "docs/cards.md is stale: run `python -m fastsim.card_reference > docs/cards.md`"
    )
