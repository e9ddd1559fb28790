"""Figures of the Level-1 trigger emulation (docs/figures/trigger_*.png).

    python benchmarks/trigger_figures.py

Single-track (STT) efficiency of prompt muons vs true z0 and vs p, and the efficiency of the
track lines and of the whole menu for a 1 GeV long-lived particle -> mu+ mu- vs its transverse
decay radius (z = 0), from :mod:`fastsim.trigger.studies` (the studies the tests check).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastsim.trigger.studies import default_stage, llp_mc, run_on, stt_efficiency

    out = REPO / "docs" / "figures"
    out.mkdir(parents=True, exist_ok=True)
    trig, det = default_stage(with_detector=True)

    ez = np.array([-60, -40, -30, -20, -15, -10, -5, 0, 5, 10, 15, 20, 30, 40, 60], float)
    ep = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0, 1.5, 3.0, 5.0])
    for edges, var, label, name in (
        (ez, "z0", "true z0 [cm] (p = 2 GeV)", "trigger_stt_vs_z0.png"),
        (ep, "p", "p [GeV] (z0 = 0)", "trigger_stt_vs_p.png"),
    ):
        eff = stt_efficiency(trig, edges, var, 4000, 2)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.stairs(eff, edges)
        ax.set_xlabel(label)
        ax.set_ylabel("single-track trigger efficiency")
        ax.set_ylim(0, 1.05)
        ax.set_title("prompt muons, 45-120 deg")
        fig.tight_layout()
        fig.savefig(out / name, dpi=120)
        plt.close(fig)
        print(name, np.round(eff, 3).tolist())

    radii = np.array([1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 45.0, 50.0, 60.0, 80.0, 100.0])
    rng = np.random.default_rng(4)
    lines = {"trg_ffo": [], "trg_y": [], "trg_stt": [], "triggered": []}
    for r in radii:
        ev = run_on(llp_mc(np.full(3000, r), np.zeros(3000), 1.0, 3.0, rng), trig, det, 5).events
        for k, values in lines.items():
            values.append(float(ev[k].mean()))
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, v in lines.items():
        ax.plot(radii, v, "o-", label=k.removeprefix("trg_"))
    ax.set_xlabel("transverse decay radius [cm] (z = 0)")
    ax.set_ylabel("efficiency")
    ax.set_ylim(0, 1.05)
    ax.set_title("1 GeV LLP -> mu+ mu-, p = 3 GeV")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "trigger_llp_vs_radius.png", dpi=120)
    plt.close(fig)
    print("llp", {k: np.round(v, 3).tolist() for k, v in lines.items()})


if __name__ == "__main__":
    main()
