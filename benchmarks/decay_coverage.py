"""Writes docs/decay_coverage.md: per parent of DECAY_BELLE2.DEC, the fraction of its branching
fraction decayed with a matrix-element model (fastsim/decay_models.py), by Pythia 8
(quark-level lines) and by phase space.  ``python -m benchmarks.decay_coverage``."""

from __future__ import annotations

from pathlib import Path

from fastsim.decays import sm_decay_table
from fastsim.particles import default_table

PARENTS = [
    511,
    521,
    531,
    413,
    423,
    421,
    411,
    431,
    433,
    4122,
    443,
    100443,
    553,
    300553,
    15,
    310,
    111,
    221,
    223,
    333,
    113,
    213,
    313,
    323,
    3122,
]


def main() -> None:
    table = sm_decay_table()
    names = default_table()
    rows = [
        "| parent | matrix element | Pythia 8 (quark level) | phase space | dropped |",
        "|---|---|---|---|---|",
    ]
    for p in PARENTS:
        c = table.model_coverage(p)
        if abs(p) == 15:  # every channel through the tau engine's currents or phase space
            rows.append(f"| {names.name(p)} ({p}) | tau engine: docs/tau_channels.md | 0 | | 0 |")
            continue
        rows.append(
            f"| {names.name(p)} ({p}) | {c['matrix_element']:.3f} | {c['pythia']:.3f} | "
            f"{c['phase_space']:.3f} | {c['dropped']:.4f} |"
        )
    text = (
        "# How DECAY_BELLE2.DEC decays are modelled (fraction of each parent's branching fraction)\n\n"
        "Written by `python -m benchmarks.decay_coverage`. Matrix element: a model of\n"
        "`fastsim/decay_models.py` (or the tau engine's currents for the tau, `docs/tau_channels.md`:\n"
        "counted here as its DEC models); Pythia 8: the quark-level lines handed over as EvtGen does;\n"
        "phase space: everything else (EvtGen models fastsim does not implement, e.g. ISGW2, LLSW,\n"
        "Dalitz models, and PHSP lines); dropped: lines with states neither `particle` nor Pythia knows.\n\n"
        + "\n".join(rows)
        + "\n"
    )
    out = Path(__file__).resolve().parents[1] / "docs" / "decay_coverage.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
