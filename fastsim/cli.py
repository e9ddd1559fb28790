"""Command line: ``fastsim run | validate | info | grid | analyze | train | models | convert``.

Bad input (a malformed or unphysical card, a corrupt or foreign HDF5 file) ends with a
one-line message naming the file, key or event and the reason, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from fastsim import __version__
from fastsim.schema import CardError

__all__ = ["main"]

EXIT_BAD_INPUT = 2
#: the output could not be written (disk full, read-only, locked by another run)
EXIT_OUTPUT = 1


def _parse_set(items: list[str]) -> dict[str, Any]:
    """``--set run.seed=3 --set beam.spread=false`` -> nested override dict."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise CardError(f"--set expects KEY.PATH=VALUE, got {item!r}", file="command line")
        key, value = item.split("=", 1)
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        try:
            node[parts[-1]] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise CardError(f"cannot parse value {value!r}", tuple(parts), "command line") from None
    return out


def _load(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Any:
    from fastsim.cards import _merge_tracked, load_card

    overrides = _parse_set(getattr(args, "set", None) or [])
    if extra:
        _merge_tracked(overrides, extra, {}, {}, "command line")
    return load_card(args.card, overrides or None)


def cmd_run(args: argparse.Namespace) -> int:
    from fastsim.run import run

    extra: dict[str, Any] = {}
    if args.events is not None:
        extra.setdefault("run", {})["events"] = args.events
    if args.workers is not None:
        extra.setdefault("run", {})["workers"] = args.workers
    card = _load(args, extra)
    if args.events is not None:
        for params in card["processes"].values():
            params["events"] = None
    summary = run(
        card,
        output=args.output,
        resume=args.resume,
        progress=not args.quiet,
        compile_ahead=args.scheduler is None and not args.dask_local,
        profile=args.profile,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
    )
    if args.quiet and args.profile:
        print(next(line for line in summary.lines() if line.startswith("profile")))
    if not args.quiet:
        print("\n".join(summary.lines()))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    card = _load(args)
    sys.stdout.write(card.text())
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from fastsim.io import open_events

    with open_events(args.file) as f:
        info = f.summary()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"{info['path']}: {info['n_events']} events, schema {info['schema_version']}, "
        f"fastsim {info.get('fastsim_version', '?')}, created {info.get('created', '?')}"
    )
    print(
        f"data set {info.get('dataset', '?')}, L = {info.get('luminosity_fb', 0):g} fb^-1, seed {info.get('seed')}"
    )
    beams = info.get("beams", {})
    if {"e_her_gev", "e_ler_gev", "sqrt_s_gev"} <= set(beams):
        print(
            f"beams: e- {beams['e_her_gev']:g} GeV, e+ {beams['e_ler_gev']:g} GeV, "
            f"sqrt(s) = {beams['sqrt_s_gev']:.4f} GeV"
        )
    for p in info.get("processes", []):
        print(
            f"  process {p['id']} {p['name']} ({p['generator']}): sigma = {p['sigma_nb']:.6g} +- "
            f"{float(p.get('sigma_err_nb', 0.0) or 0.0):.2g} nb, {p['n_events']} events"
        )
    print("per-event fields: " + ", ".join(info["event_fields"]))
    for name, c in info["collections"].items():
        print(f"  /{name}: {c['n_items']} items; fields " + ", ".join(c["fields"]))
    return 0


def load_grid_dir(card: str) -> str:
    """The grid output directory a card names (``grid.output_dir``)."""
    from fastsim.grid import plan_grid

    return plan_grid(card)[1][0].card["grid"]["output_dir"]


def cmd_grid(args: argparse.Namespace) -> int:
    from fastsim.grid import run_grid

    rows = run_grid(
        args.card,
        out_dir=args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        resume=args.resume,
        show_progress=not args.quiet,
        overrides=_parse_set(args.set or []) or None,
    )
    if args.map:
        from fastsim.grid import plot_efficiency_map

        out = plot_efficiency_map(args.output or load_grid_dir(args.card), args.map[0], args.map[1])
        if not args.quiet:
            print(f"efficiency map: {out}")
    if args.limits:
        from fastsim.grid import plot_limit_curves

        x, curve = args.limits[0], (args.limits[1] if len(args.limits) > 1 else None)
        out = plot_limit_curves(args.output or load_grid_dir(args.card), x, curve)
        if not args.quiet:
            print(f"limit curves: {out}")
    if not args.quiet:
        for r in rows:
            params = ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in r.items()
                if k not in ("point", "file", "sigma_err_nb", "efficiency_err")
            )
            print(f"point {r['point']}: {params}")
    return 0


def _floats(text: str | None, option: str) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CardError(
            f"{option} expects comma-separated numbers, got {text!r}", file="command line"
        ) from None


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.cli import analyze, list_searches
    from fastsim.registry import UnknownPlugin

    if args.list:
        for name, title, models in list_searches():
            print(f"{name}: {title} (models: {models})")
        return 0
    if not args.name or not args.files:
        raise CardError("give a search NAME and its FILES (or --list)", file="command line")
    try:
        out = analyze(
            args.name,
            [Path(f) for f in args.files],
            args.lumi,
            Path(args.output),
            Path(args.observed) if args.observed else None,
            projections=_floats(args.projections, "--projections"),
            projection_syst=_floats(args.projection_syst, "--projection-syst"),
            compare=[Path(c) for c in args.compare or []],
            workspaces=Path(args.workspaces) if args.workspaces else None,
        )
    except (UnknownPlugin, ValueError, OSError) as exc:
        raise CardError(str(exc), file="fastsim analyze") from None
    if not args.quiet:
        print(f"wrote {out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``fastsim train SEARCH FILES... -o MODEL.json``: a classifier on a search's features."""
    from analysis import SEARCHES
    from analysis.mva import train_search
    from fastsim.registry import UnknownPlugin

    try:
        search = SEARCHES[args.name]()
        files = [Path(f) for f in args.files]
        for f in files:
            if not f.is_file():
                raise ValueError(f"{f}: no such file")
        train_search(search, files, Path(args.output), seed=args.seed, classes=args.classes, quiet=args.quiet)
    except (UnknownPlugin, ValueError, OSError, NotImplementedError) as exc:
        raise CardError(str(exc), file="fastsim train") from None
    if not args.quiet:
        print(f"wrote {args.output}")
    return 0


def _model_options(items: list[str]) -> dict[str, Any]:
    """Model parameters given as options of ``fastsim models NAME``: ``--KEY VALUE`` or
    ``--KEY=VALUE`` (a YAML value, as ``--set KEY=VALUE``), ``--KEY`` alone for true (e.g.
    ``--dirac``); the model's parameter schema validates them."""
    pairs: list[str] = []
    i = 0
    while i < len(items):
        item = items[i]
        if not item.startswith("--") or len(item) == 2:
            raise CardError(f"unexpected argument {item!r}", file="command line")
        key, eq, value = item[2:].partition("=")
        if not eq:
            has_value = i + 1 < len(items) and not items[i + 1].startswith("--")
            value = items[i + 1] if has_value else "true"
            i += has_value
        pairs.append(f"{key}={value}")
        i += 1
    return _parse_set(pairs)


def cmd_models(args: argparse.Namespace) -> int:
    """``fastsim models`` lists the models; ``fastsim models NAME --mass M --coupling G`` prints a point."""
    from fastsim.models import MODELS, get_model
    from fastsim.registry import UnknownPlugin

    if args.name is None:
        if getattr(args, "model_options", None):
            raise CardError(f"unexpected arguments {' '.join(args.model_options)}", file="command line")
        for name in MODELS:
            cls = MODELS[name]
            pars = ", ".join(f"{k} [{f.unit}]" if f.unit else k for k, f in cls.parameters.items())
            print(
                f"{name}: {cls.title} (particle {cls.particle.name}, PDG id {cls.particle.pdg}); parameters: {pars}"
            )
        return 0
    try:
        cls = get_model(args.name)
    except UnknownPlugin as exc:
        raise CardError(str(exc), file="command line") from None
    params = {k: v for k, v in _parse_set(args.set or []).items()}
    params.update(_model_options(getattr(args, "model_options", None) or []))
    if args.mass is not None:
        params["mass"] = args.mass
    if args.coupling is not None:
        params["coupling"] = args.coupling
    point = cls.from_card(params)
    info = point.summary()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{cls.name}: {cls.title}")
    print(
        "  parameters: "
        + ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in point.params.items())
    )
    ctau = info["ctau_cm"]
    print(
        f"  total width {info['width_gev']:.6g} GeV, c*tau {ctau:.6g} cm"
        if ctau
        else f"  total width {info['width_gev']:.6g} GeV (stable)"
    )
    for fs, br in sorted(info["branching_fractions"].items(), key=lambda kv: -kv[1]):
        print(f"  BR({cls.particle.name} -> {fs}) = {br:.6g}")
    for ch, rate in info["production"].items():
        print(f"  {ch}: {rate:.6g}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from fastsim.external.convert import convert

    out = convert(Path(args.input), Path(args.output), Path(args.card) if args.card else None)
    if not args.quiet:
        print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fastsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="generate and simulate the events of a card into an HDF5 file")
    p.add_argument("card", help="run card (YAML)")
    p.add_argument("-o", "--output", help="output HDF5 file (default: the card's run.output)")
    p.add_argument("--events", type=int, help="events per process (overrides the card)")
    p.add_argument("--workers", type=int, help="worker processes (overrides run.workers)")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its .part file")
    p.add_argument(
        "--profile", action="store_true", help="print the seconds spent in each stage and in the writer"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument(
        "--scheduler", help="run the chunks on a dask.distributed cluster (address, e.g. tcp://host:8786)"
    )
    p.add_argument(
        "--dask-local", type=int, metavar="N", help="run the chunks on a dask LocalCluster of N workers"
    )
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a card value, e.g. run.seed=7"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a card and print it fully resolved")
    p.add_argument("card")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("info", help="what an HDF5 event file holds")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("grid", help="run a signal grid (card values given as values/linspace/logspace)")
    p.add_argument("card")
    p.add_argument("-o", "--output", help="output directory (default: the card's grid.output_dir)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--scheduler", help="address of a dask.distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--dask-local", type=int, metavar="N", help="start a dask LocalCluster with N workers")
    p.add_argument("--resume", action="store_true", help="skip tasks whose results are on disk")
    p.add_argument(
        "--map", nargs=2, metavar=("X", "Y"), help="also plot the efficiency map over two grid columns"
    )
    p.add_argument(
        "--limits",
        nargs="+",
        metavar="COL",
        help="also plot sigma x BR limits vs COL [one curve per value of COL2]",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_grid)

    p = sub.add_parser("analyze", help="run an analysis module on fastsim files: efficiencies and limits")
    p.add_argument("name", nargs="?", help="search, e.g. zprime_4mu (--list names them)")
    p.add_argument("files", nargs="*", help="signal and background HDF5 files (told apart by their /meta)")
    p.add_argument("--list", action="store_true", help="list the searches")
    p.add_argument(
        "--lumi",
        type=float,
        help="integrated luminosity, fb^-1 (default: each file at its data set's luminosity, data sets combined)",
    )
    p.add_argument("-o", "--output", default="analysis_out", help="output directory")
    p.add_argument("--observed", help="CSV of observed counts per mass window (observed limits)")
    p.add_argument(
        "--projections", metavar="L1,L2,...", help="also project the limits to these luminosities (fb^-1)"
    )
    p.add_argument(
        "--projection-syst",
        metavar="S1,S2,...",
        help="relative background systematic at each projected luminosity",
    )
    p.add_argument(
        "--workspaces", metavar="DIR", help="write one pyhf JSON workspace per signal region into DIR"
    )
    p.add_argument(
        "--compare",
        action="append",
        metavar="FILE.csv",
        help="overlay a published curve (mass_gev, coupling[, label])",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "train", help="train a classifier (LightGBM) on a search's features: signal vs background"
    )
    p.add_argument("name", help="search, e.g. zprime_4mu (fastsim analyze --list names them)")
    p.add_argument("files", nargs="+", help="signal and background HDF5 files (told apart by their /meta)")
    p.add_argument("-o", "--output", required=True, help="the classifier file to write (JSON)")
    p.add_argument("--seed", type=int, default=1, help="seed of the train/test split and of LightGBM")
    p.add_argument(
        "--classes",
        choices=("binary", "process"),
        default="binary",
        help="binary: signal vs background; process: one class per background process and the signal",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", help="list the models, or print one point's widths, c*tau, BRs and rates")
    p.add_argument("name", nargs="?", help="model name (omit to list the models)")
    p.add_argument("--mass", type=float, help="mass of the new particle, GeV")
    p.add_argument("--coupling", type=float, help="the model's coupling")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="another model parameter (also as --KEY VALUE, or --KEY for true, e.g. --dirac)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "convert", help="LHE/LHEH5/HepMC3 -> HDF5 (no detector), or HDF5 -> HepMC3 / LHEH5 (generator level)"
    )
    p.add_argument("input")
    p.add_argument("output", help="*.h5, *.hepmc3 or *.lheh5")
    p.add_argument("--card", help="run card giving the beams (for reading external samples)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    from fastsim.io import FileFormatError, OutputError

    parser = build_parser()
    # options the parser does not know are model parameters of ``fastsim models NAME``
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "func", None) is not cmd_models:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.model_options = extra
    try:
        return int(args.func(args))
    except CardError as exc:
        print(f"fastsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileFormatError as exc:
        print(f"fastsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OutputError as exc:  # another run holds the output, or the disk refuses it
        print(f"fastsim: error: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print("fastsim: interrupted (use --resume to continue)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
