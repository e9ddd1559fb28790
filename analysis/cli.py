"""``fastsim analyze NAME FILES... --lumi L -o DIR``: run a search and write its outputs.

Outputs in DIR, the same for every search: ``limits.csv`` (one row per model and mass),
``limits.png`` and ``limits.pdf`` (coupling limits vs mass with the expected +-1, +-2 sigma
bands, and published curves given with ``--compare``), ``hepdata/submission.yaml`` with one
HEPData-style table per model (``hepdata/<model>_limits.yaml``), ``summary.json``; with
``--projections L1,L2,...`` also ``projections.csv`` (column ``lumi_fb`` then the columns of
limits.csv) and ``projections.png``.  Signal points and backgrounds are told apart by the
model their processes name in ``/meta`` (:mod:`analysis.io`).

Luminosity projections: the same selection and signal region, with every background yield
scaled by L / L_0, its Monte-Carlo variance by L / L_0 as well (the simulated background is
taken to grow with the data: :meth:`analysis.samples.Samples.at_luminosity`), and the
relative background systematic kept as configured unless ``projection_syst`` gives one per
luminosity; the signal efficiency does not change and the limit is recomputed with the
search's statistical method (counting CLs with the gamma-prior background uncertainty, exact
for any count, by default).

Observed counts (optional): a CSV with columns ``mass_gev`` and ``observed`` (and optionally
``model``), the number of events observed in the window at that mass.

Published curves (``--compare FILE.csv``): columns ``mass_gev`` and ``coupling`` (optional
``model`` and ``label``); each file is one curve on the limit plot, labelled with its ``label``
column or the file's name.

Units: GeV; cross sections in fb; luminosity in fb^-1.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from analysis import SEARCHES
from analysis.interpretation import limit_table
from analysis.samples import Samples, load_samples
from analysis.search import Search

__all__ = [
    "analyze",
    "list_searches",
    "plot_limits",
    "plot_projections",
    "projection_table",
    "read_compare",
    "read_observed",
    "write_hepdata",
]


def list_searches() -> list[tuple[str, str, str]]:
    """(name, title, models) of every registered search."""
    return [(n, SEARCHES[n].title, ", ".join(SEARCHES[n].models)) for n in SEARCHES]


def _model_label(model: str) -> str:
    from fastsim.models import get_model

    cls = get_model(model)
    return f"{cls.title.split(' (')[0]}: {cls.coupling_label}"


def read_observed(path: Path, models: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Observed counts per model from a CSV (mass_gev, observed[, model]); rows without a model
    apply to every model."""
    from fastsim.models import ALIASES

    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"mass_gev", "observed"} <= set(rows[0]):
        raise ValueError(f"{path}: expected CSV columns mass_gev, observed[, model]")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for model in models:
        sel = [r for r in rows if ALIASES.get(r.get("model") or "", r.get("model") or "") in ("", model)]
        if sel:
            try:
                out[model] = (
                    np.array([float(r["mass_gev"]) for r in sel]),
                    np.array([float(r["observed"]) for r in sel]),
                )
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    return out


def read_compare(path: Path) -> dict[str, Any]:
    """A published curve: {'label', 'model' (or None), 'mass_gev', 'coupling'}."""
    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"mass_gev", "coupling"} <= set(rows[0]):
        raise ValueError(f"{path}: expected CSV columns mass_gev, coupling[, model, label]")
    try:
        m = np.array([float(r["mass_gev"]) for r in rows])
        g = np.array([float(r["coupling"]) for r in rows])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    order = np.argsort(m)
    return {
        "label": rows[0].get("label") or Path(path).stem,
        "model": rows[0].get("model") or None,
        "mass_gev": m[order],
        "coupling": g[order],
    }


def _col(rs: list[dict[str, object]], name: str) -> np.ndarray:
    return np.array([r.get(name, np.nan) for r in rs], dtype=float)


def _segments(m: np.ndarray) -> list[slice]:
    """Break lines where neighbouring masses jump over a vetoed gap."""
    if len(m) < 2:
        return [slice(0, len(m))]
    step = np.median(np.diff(m))
    gap = np.flatnonzero(np.diff(m) > max(0.1, 20 * step))
    return [slice(a, b) for a, b in zip(np.r_[0, gap + 1], np.r_[gap + 1, len(m)], strict=True)]


def plot_limits(
    rows: list[dict[str, object]],
    out_base: Path,
    lumi_fb: float,
    cl: float,
    xlabel: str = "$m_X$ [GeV]",
    compare: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Coupling upper limits vs mass (expected median, +-1 and +-2 sigma bands, observed when
    present, the upper edge of a long-lived island, published curves), one panel per model.
    Writes ``out_base``.png and .pdf."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(6.0 * len(models), 4.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        rs = [r for r in rows if r["model"] == model]
        m = _col(rs, "mass_gev")
        for i, s in enumerate(_segments(m)):
            first = i == 0
            ax.fill_between(m[s], _col(rs, "coupling_ul_expected_m2s")[s], _col(rs, "coupling_ul_expected_p2s")[s],
                            color="#ffcc00", lw=0, label="expected $\\pm 2\\sigma$" if first else None)  # fmt: skip
            ax.fill_between(m[s], _col(rs, "coupling_ul_expected_m1s")[s], _col(rs, "coupling_ul_expected_p1s")[s],
                            color="#00cc00", lw=0, label="expected $\\pm 1\\sigma$" if first else None)  # fmt: skip
            ax.plot(
                m[s], _col(rs, "coupling_ul_expected")[s], "k--", lw=1, label="expected" if first else None
            )
            if "coupling_excl_max_expected" in rs[0]:
                ax.plot(m[s], _col(rs, "coupling_excl_max_expected")[s], "k:", lw=1,
                        label="expected, upper edge" if first else None)  # fmt: skip
            if "coupling_ul_observed" in rs[0]:
                ax.plot(
                    m[s],
                    _col(rs, "coupling_ul_observed")[s],
                    "k-",
                    lw=1.2,
                    label="observed" if first else None,
                )
        for c in compare or []:
            if c["model"] in (None, model):
                ax.plot(c["mass_gev"], c["coupling"], "-", lw=1.4, color="#c0392b", label=c["label"])
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{round(cl * 100)}% CL upper limit on the coupling")
        ax.set_title(f"{_model_label(model)}, {lumi_fb:g} fb$^{{-1}}$ (fastsim)", fontsize="medium")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    outs = []
    for ext in ("png", "pdf"):
        p = out_base.with_suffix(f".{ext}")
        fig.savefig(p, dpi=130)
        outs.append(p)
    plt.close(fig)
    return outs


def write_hepdata(
    rows: list[dict[str, object]], out_dir: Path, search: Search, lumi_fb: float, cl: float
) -> Path:
    """HEPData-style submission: ``submission.yaml`` and one table per model with the expected
    (and observed) limits on sigma x BF (fb) and on the coupling, bands as asymmetric errors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    docs: list[dict[str, object]] = [
        {"comment": f"fastsim expected limits, {search.title} ({search.reference} selection)",
         "additional_resources": []}
    ]  # fmt: skip
    pct = f"{round(cl * 100)}%"
    for model in dict.fromkeys(str(r["model"]) for r in rows):
        rs = [r for r in rows if r["model"] == model]
        quals = [
            {"name": "RE", "value": search.channel},
            {"name": "model", "value": model},
            {"name": "SQRT(S)", "units": "GEV", "value": 10.58},
            {"name": "LUMINOSITY", "units": "FB^-1", "value": lumi_fb},
            {"name": "CL", "value": pct},
        ]

        def band(r: dict[str, object], base: str) -> dict[str, object]:
            c = float(r[base])  # type: ignore[arg-type]
            return {
                "value": c,
                "errors": [
                    {"label": "1 sigma", "asymerror": {"minus": float(r[f"{base}_m1s"]) - c,  # type: ignore[arg-type]
                                                       "plus": float(r[f"{base}_p1s"]) - c}},  # type: ignore[arg-type]
                    {"label": "2 sigma", "asymerror": {"minus": float(r[f"{base}_m2s"]) - c,  # type: ignore[arg-type]
                                                       "plus": float(r[f"{base}_p2s"]) - c}},  # type: ignore[arg-type]
                ],
            }  # fmt: skip

        dep = [
            {"header": {"name": f"expected {pct} CL upper limit on sigma x BF", "units": "FB"},
             "qualifiers": quals, "values": [band(r, "xsec_bf_ul_fb_expected") for r in rs]},
            {"header": {"name": f"expected {pct} CL upper limit on the coupling"},
             "qualifiers": quals, "values": [band(r, "coupling_ul_expected") for r in rs]},
        ]  # fmt: skip
        if "xsec_bf_ul_fb_observed" in rs[0]:
            for name, key, units in (("sigma x BF", "xsec_bf_ul_fb_observed", "FB"),
                                     ("the coupling", "coupling_ul_observed", "")):  # fmt: skip
                dep.append(
                    {
                        "header": {"name": f"observed {pct} CL upper limit on {name}", "units": units},
                        "qualifiers": quals,
                        "values": [{"value": float(r[key])} for r in rs],  # type: ignore[arg-type]
                    }
                )
        table = {
            "independent_variables": [
                {"header": {"name": "M(X)", "units": "GEV"}, "values": [{"value": r["mass_gev"]} for r in rs]}
            ],
            "dependent_variables": dep,
        }
        fname = f"{model}_limits.yaml"
        (out_dir / fname).write_text(yaml.safe_dump(table, sort_keys=False))
        docs.append(
            {
                "name": f"Upper limits, {model}",
                "description": f"Expected {pct} CL upper limits on sigma x BF and on the coupling vs the"
                f" mass, {model} model, {search.title}, fastsim simulation.",
                "keywords": [{"name": "observables", "values": ["SIG*BF", "COUPLING"]}],
                "data_file": fname,
            }
        )
    sub = out_dir / "submission.yaml"
    sub.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return sub


def _write_csv(rows: list[dict[str, object]], path: Path) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def projection_table(
    search: Search,
    samples: Samples,
    lumis: list[float],
    syst: list[float] | None = None,
) -> list[dict[str, object]]:
    """limits.csv rows at each luminosity (fb^-1), with a leading ``lumi_fb`` column; ``syst``:
    the relative background systematic at each luminosity (default: the search's)."""
    if syst is not None and len(syst) != len(lumis):
        raise ValueError(f"--projection-syst gives {len(syst)} values for {len(lumis)} luminosities")
    out: list[dict[str, object]] = []
    for i, lumi in enumerate(lumis):
        stats = search.statistics
        if syst is not None:
            stats = dataclasses.replace(stats, rel_bkg_sys=float(syst[i]))
        for r in limit_table(search, samples.at_luminosity(lumi), None, stats):
            out.append({"lumi_fb": float(lumi), **r})
    return out


def plot_projections(
    rows: list[dict[str, object]],
    out: Path,
    xlabel: str,
    cl: float,
    base: list[dict[str, object]] | None = None,
    base_lumi: float | None = None,
) -> Path:
    """Expected coupling limit vs mass, one line per luminosity, one panel per model; ``base``:
    the analysis's own rows at ``base_lumi``, drawn dashed for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    lumis = sorted({float(r["lumi_fb"]) for r in rows})  # type: ignore[arg-type]
    fig, axes = plt.subplots(1, len(models), figsize=(6.0 * len(models), 4.6), squeeze=False)
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, len(lumis)))
    for ax, model in zip(axes[0], models, strict=True):
        for lumi, colour in zip(lumis, colours, strict=True):
            rs = [r for r in rows if r["model"] == model and r["lumi_fb"] == lumi]
            m = _col(rs, "mass_gev")
            for i, s in enumerate(_segments(m)):
                lab = f"{lumi / 1000:g} ab$^{{-1}}$" if lumi >= 1000 else f"{lumi:g} fb$^{{-1}}$"
                ax.plot(
                    m[s],
                    _col(rs, "coupling_ul_expected")[s],
                    color=colour,
                    lw=1.2,
                    label=lab if i == 0 else None,
                )
        if base:
            rs = [r for r in base if r["model"] == model]
            m = _col(rs, "mass_gev")
            for i, s in enumerate(_segments(m)):
                lab = f"this analysis, {base_lumi:g} fb$^{{-1}}$" if i == 0 else None
                ax.plot(m[s], _col(rs, "coupling_ul_expected")[s], "k--", lw=1.0, label=lab)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"expected {round(cl * 100)}% CL upper limit on the coupling")
        ax.set_title(f"{_model_label(model)}: luminosity projection (fastsim)", fontsize="medium")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def analyze(
    name: str,
    files: list[Path],
    lumi_fb: float,
    out_dir: Path,
    observed: Path | None = None,
    projections: list[float] | None = None,
    projection_syst: list[float] | None = None,
    compare: list[Path] | None = None,
) -> Path:
    """Run search ``name`` on fastsim HDF5 ``files`` (signal and background, told apart by
    their ``/meta``) at luminosity ``lumi_fb`` (fb^-1); write limits.csv, limits.png/.pdf,
    hepdata/, summary.json (and projections.csv/.png) into ``out_dir``.  Returns limits.csv."""
    search: Search = SEARCHES[name]()
    if lumi_fb <= 0:
        raise ValueError(f"--lumi: luminosity must be > 0 fb^-1, got {lumi_fb}")
    if projections and any(x <= 0 for x in projections):
        raise ValueError(f"--projections: luminosities must be > 0 fb^-1, got {projections}")
    for f in files:
        if not Path(f).is_file():
            raise ValueError(f"{f}: no such file")
    curves = [read_compare(Path(c)) for c in compare or []]
    obs = read_observed(observed, search.models) if observed is not None else None
    samples = load_samples(search, [Path(f) for f in files], lumi_fb)
    if not samples.signal:
        raise ValueError(f"no signal process of the models {', '.join(search.models)} in the given files")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = search.statistics
    rows = limit_table(search, samples, obs)
    csv_path = out_dir / "limits.csv"
    _write_csv(rows, csv_path)
    plot_limits(rows, out_dir / "limits", lumi_fb, stats.cl, search.observable_label, curves)
    write_hepdata(rows, out_dir / "hepdata", search, lumi_fb, stats.cl)
    summary: dict[str, Any] = {
        "analysis": name,
        "reference": search.reference,
        "lumi_fb": lumi_fb,
        "statistics": dataclasses.asdict(stats),
        "region": {"type": type(search.region).__name__, **dataclasses.asdict(search.region)},
        "background_selected_events": samples.bkg_expected_total,
        "signal_points": sorted(f"{m}:{x:g}" for m, x in samples.signal),
        "files": [str(f) for f in files],
    }
    if projections:
        prow = projection_table(search, samples, [float(x) for x in projections], projection_syst)
        _write_csv(prow, out_dir / "projections.csv")
        plot_projections(prow, out_dir / "projections.png", search.observable_label, stats.cl, rows, lumi_fb)
        summary["projections_fb"] = [float(x) for x in projections]
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return csv_path
