"""Speed and memory figures tracked by the issues.

    python benchmarks/run.py [--quick] --json PATH [--only NAME ...]

Writes one JSON object of named figures.  Each figure is measured after a warm-up run
(numba compilation and decay-table parsing excluded), on one worker unless said.

Figures defined here (other modules ``benchmarks/bench_*.py`` add theirs through a
``FIGURES`` dict of name -> function(tmp: Path, quick: bool) -> float):
  mumu_born_events_per_s   e+e- -> mu+mu- Born: generate, decay, write HDF5 (1 worker)
  peak_rss_mib_1e6         peak resident memory of `fastsim run` writing 1e6 events
  peak_rss_mib_1e7         the same for 1e7 events (1e6 and 1e7 become 1e5 and 1e6 with --quick)
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 1, events: {events}, chunk_size: 100000, output: out.h5, workers: 1}}
dataset: {{name: benchmark, luminosity_fb: 1.0}}
# the figures here are generation, decays and writing
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
processes:
  ee_mumu: {{generator: ee_mumu_born}}
"""


def _card(tmp: Path, events: int) -> Path:
    path = tmp / f"card_{events}.yaml"
    path.write_text(CARD.format(events=events))
    return path


def mumu_born_events_per_s(tmp: Path, quick: bool) -> float:
    from fastsim.cards import load_card
    from fastsim.run import run

    run(load_card(_card(tmp, 20_000)), output=tmp / "warm.h5", progress=False)
    n = 200_000 if quick else 1_000_000
    card = load_card(_card(tmp, n))
    t0 = time.perf_counter()
    run(card, output=tmp / "mumu.h5", progress=False)
    return n / (time.perf_counter() - t0)


_RSS_SCRIPT = """
import resource, sys
sys.path.insert(0, {repo!r})
from fastsim.cards import load_card
from fastsim.run import run
run(load_card({card!r}), output={out!r}, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mib(tmp: Path, events: int) -> float:
    card = _card(tmp, events)
    out = tmp / f"rss_{events}.h5"
    script = _RSS_SCRIPT.format(repo=str(REPO), card=str(card), out=str(out))
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    out.unlink()
    return float(res.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (for a smoke test)")
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--only", nargs="*", help="names of figures to measure")
    args = parser.parse_args()
    small, large = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        todo = {
            "mumu_born_events_per_s": lambda: mumu_born_events_per_s(tmp, args.quick),
            "peak_rss_mib_1e6": lambda: peak_rss_mib(tmp, small),
            "peak_rss_mib_1e7": lambda: peak_rss_mib(tmp, large),
        }
        for mod_path in sorted(Path(__file__).parent.glob("bench_*.py")):
            mod = importlib.import_module(f"benchmarks.{mod_path.stem}")
            for name, fn in mod.FIGURES.items():
                todo[name] = lambda fn=fn: fn(tmp, args.quick)
        for name, fn in todo.items():
            if args.only and name not in args.only:
                continue
            figures[name] = round(fn(), 2)
            print(f"{name}: {figures[name]}", flush=True)
    figures["quick"] = args.quick
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
