"""Figures of the reconstruction: displaced-vertex efficiency vs transverse decay radius.

    python benchmarks/reco_figures.py     # writes docs/figures/displaced_vertex_eff_vs_radius.png

Uses :func:`fastsim.reco.validation.displaced_vertex_efficiency` (the same study the tests check).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastsim.reco.validation import displaced_vertex_efficiency

    rows = displaced_vertex_efficiency(n=2000)
    r, eff, both = (list(x) for x in zip(*rows, strict=True))
    for row in rows:
        print("r = %5.1f cm  efficiency %.3f  both tracks found %.3f" % row)  # noqa: UP031
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(r, both, "o--", label="both muon tracks found (detector)")
    ax.plot(r, eff, "s-", label="selected displaced vertex (reco)")
    ax.set_xlabel("transverse decay radius [cm]")
    ax.set_ylabel("efficiency")
    ax.set_ylim(0, 1.05)
    ax.set_title("Belle II, 1 GeV scalar -> mu+ mu-")
    ax.legend()
    fig.tight_layout()
    out = REPO / "docs" / "figures" / "displaced_vertex_eff_vs_radius.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
