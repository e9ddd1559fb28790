"""The commands of docs/adding_a_model.md run as written (issue 14): every ``fastsim`` line of
its bash blocks, in order, in a fresh directory, and their outputs are what the page says."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

DOC = REPO / "docs" / "adding_a_model.md"


def doc_commands() -> list[list[str]]:
    """The ``fastsim ...`` lines of the page's bash blocks, as argument lists."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.DOTALL)
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip().startswith("fastsim ")]
    return [shlex.split(ln)[1:] for ln in lines]


@pytest.mark.slow
def test_adding_a_model_walkthrough(tmp_path: Path) -> None:
    (tmp_path / "cards").symlink_to(REPO / "cards")
    cmds = doc_commands()
    assert [c[0] for c in cmds] == ["models", "grid", "run", "analyze"]
    outputs = []
    for args in cmds:
        expanded = []
        for a in args:  # the shell's glob
            expanded += sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(a)) if "*" in a else [a]
        r = run_cli(*expanded, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        outputs.append(r.stdout)
    # step 1: the printed point is the one the page shows
    shown = re.search(r"```\n(leptophilic_scalar: .*?)```", DOC.read_text(), re.DOTALL).group(1)
    assert outputs[0].strip() == shown.strip()
    # steps 3-4: the grid and the limits the page describes
    with (tmp_path / "example_ll_phil_grid" / "grid.csv").open() as fh:
        grid = list(csv.DictReader(fh))
    assert float(grid[0]["sigma_nb"]) == pytest.approx(2.7e-9, rel=0.05)
    with (tmp_path / "phil_limits" / "limits.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["simulated"] == "True"]
    assert {r["model"] for r in rows} == {"leptophilic_scalar"}
    at1 = next(r for r in rows if float(r["mass_gev"]) == 1.0)
    assert 8 < float(at1["coupling_ul_expected"]) < 25  # the page: about 14
    for name in ("limits.png", "limits.pdf", "projections.csv", "projections.png", "hepdata/submission.yaml"):
        assert (tmp_path / "phil_limits" / name).is_file(), name
