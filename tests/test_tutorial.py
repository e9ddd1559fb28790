"""docs/tutorial_reading.md runs: its ```python blocks, in order and in one namespace, in a
temporary directory holding a small ``belle2_run1.h5`` (the Belle II Run 1 card with a few
thousand events); its ``fastsim info`` / ``fastsim convert`` commands exit 0."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CARDS, REPO, run_cli

TUTORIAL = REPO / "docs" / "tutorial_reading.md"
FILE = "belle2_run1.h5"  # the file the tutorial opens


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", TUTORIAL.read_text(), flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a small ``belle2_run1.h5`` made from cards/belle2_run1.yaml."""
    from fastsim.cards import load_card
    from fastsim.run import run

    tmp = tmp_path_factory.mktemp("tutorial")
    events = {"ee_mumu": 3000, "zprime_1gev": 500, "sm_4mu": 500}
    card = load_card(
        CARDS / "belle2_run1.yaml",
        {"run": {"events": 3000}, "processes": {k: {"events": n} for k, n in events.items()}},
    )
    run(card, output=tmp / FILE, workers=1, progress=False)
    return tmp


def test_python_blocks_run(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 5, "the tutorial's python blocks were not found"
    assert FILE in blocks[0]
    monkeypatch.chdir(workdir)
    ns: dict = {"__name__": "tutorial"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{TUTORIAL.name}[python block {i}]", "exec"), ns)  # noqa: S102 - the page's code
    # 2. the DataFrame: every event, process names, trigger efficiencies as the run's summary
    df = ns["df"]
    assert len(df) == 4000
    assert df["process"].value_counts().to_dict() == {"ee_mumu": 3000, "zprime_1gev": 500, "sm_4mu": 500}
    meta_eff = {p["name"]: p["flag_fractions"]["triggered"] for p in ns["f"].meta["processes"]}
    for name, eff in ns["per_process"]["trigger_eff"].items():
        assert eff == pytest.approx(meta_eff[name], rel=1e-9), name
    # 3. the dimuon histogram: filled, peaked near sqrt(s) (e+e- -> mu mu)
    counts, edges = ns["counts"], ns["edges"]
    assert counts.sum() > 1000
    assert 9.5 < edges[np.argmax(counts)] < 10.8
    assert ns["mass"].ndim == 1 and len(ns["mass"]) == int(np.count_nonzero(ns["two"])) > 1000
    # 4. streaming gives the same histogram
    assert np.allclose(ns["streamed"], counts, rtol=1e-12, atol=0)
    # 5. the ROOT file
    assert (workdir / "belle2_run1.root").exists()
    assert ns["meta"]["n_events"] == 4000
    assert len(ns["muon_id"]) == 4000


def test_shell_commands_run(workdir: Path) -> None:
    lines = [ln.split("#")[0].strip() for block in _blocks("bash") for ln in block.splitlines()]
    commands = [shlex.split(ln) for ln in lines if ln.startswith("fastsim ")]
    assert [c[1] for c in commands] == ["run", "info", "convert"]
    for cmd in commands:
        if cmd[1] == "run":  # the full job: the test made a smaller file of the same card
            assert cmd[2] == "cards/belle2_run1.yaml"
            continue
        r = run_cli(*cmd[1:], cwd=workdir)
        assert r.returncode == 0, (cmd, r.stderr)
    assert "ee_mumu" in run_cli("info", FILE, cwd=workdir).stdout
