"""``fastsim analyze NAME FILES... --lumi L -o DIR``: run a search and write its outputs.

With ``--workspaces WSDIR`` also one pyhf JSON workspace per signal region (mass window, or the
set of categories at one mass), for reinterpretation with pyhf (:func:`workspace_for`).

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
import gc
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from analysis import SEARCHES
from analysis.interpretation import limit_table
from analysis.samples import Samples, load_samples
from analysis.search import Categories, Channels, Search
from fastsim.plotting import save_figure, styled

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
    return cls.label or cls.title


def _coupling_label(model: str) -> str:
    from fastsim.models import get_model

    return str(get_model(model).coupling_label)


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


def _coupling_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The rows with a coupling limit (a channel search's ``combined`` rows; every row else)."""
    return [r for r in rows if r.get("channel", "combined") == "combined"]


@styled
def plot_channel_limits(
    rows: list[dict[str, object]], out: Path, xlabel: str, cl: float, lumi_fb: float
) -> Path:
    """Expected limits on BR(production) x BR(decay) vs mass, one panel per channel, one line
    per c*tau (a channel search's rows)."""
    import matplotlib.pyplot as plt

    chans = list(dict.fromkeys(str(r["channel"]) for r in rows if r.get("channel") not in (None, "combined")))
    ncol = 4 if len(chans) > 4 else max(len(chans), 1)
    nrow = -(-len(chans) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.8 * ncol, 4.4 * nrow + 0.8), squeeze=False, sharex=True)
    ctaus = sorted({float(r["ctau_cm"]) for r in rows if r.get("channel") in chans})  # type: ignore[arg-type]
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, max(len(ctaus), 1)))
    for ax, ch in zip(axes.ravel(), chans, strict=False):
        drawn = False
        for ct, colour in zip(ctaus, colours, strict=True):
            rs = [r for r in rows if r.get("channel") == ch and float(r["ctau_cm"]) == ct]  # type: ignore[arg-type]
            y = _col(rs, "br_ul_expected")
            fin = np.isfinite(y)
            m, y = _col(rs, "mass_gev")[fin], y[fin]
            drawn |= bool(len(m))
            for i, seg in enumerate(_segments(m)):
                ax.plot(m[seg], y[seg], color=colour, lw=1.1,
                        label=rf"$c\tau$ = {ct:g} cm" if i == 0 else None)  # fmt: skip
        if drawn:
            ax.set_yscale("log")
        ax.set_title(ch, fontsize="medium")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{round(cl * 100)}% CL UL, BR x BR")
    for ax in axes.ravel()[len(chans) :]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(len(labels), 1), fontsize="small", frameon=False)
    fig.suptitle(f"expected limits, fastsim, {lumi_fb:g} fb$^{{-1}}$", fontsize="medium")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, out)
    return out


@styled
def plot_channel_efficiency(rows: list[dict[str, object]], out: Path, xlabel: str) -> Path:
    """Signal efficiency vs c*tau at each simulated mass, one panel per channel (a channel
    search's rows; the vertex region of each point as in limits.csv)."""
    import matplotlib.pyplot as plt

    sim = [r for r in rows if r.get("channel") not in (None, "combined") and r.get("simulated")]
    chans = list(dict.fromkeys(str(r["channel"]) for r in sim))
    ncol = 4 if len(chans) > 4 else max(len(chans), 1)
    nrow = -(-len(chans) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.8 * ncol, 4.4 * nrow + 0.8), squeeze=False, sharey=True)
    masses = sorted({float(r["mass_gev"]) for r in sim})  # type: ignore[arg-type]
    colours = plt.cm.plasma(np.linspace(0.0, 0.9, max(len(masses), 1)))
    for ax, ch in zip(axes.ravel(), chans, strict=False):
        for m, colour in zip(masses, colours, strict=True):
            rs = sorted((r for r in sim if r["channel"] == ch and float(r["mass_gev"]) == m),  # type: ignore[arg-type]
                        key=lambda r: float(r["ctau_cm"]))  # type: ignore[arg-type]  # fmt: skip
            if rs:
                ax.plot(_col(rs, "ctau_cm"), _col(rs, "efficiency"), "o-", color=colour, ms=3, lw=1.1,
                        label=f"{xlabel.split('[', maxsplit=1)[0].strip()} = {m:g} GeV")  # fmt: skip
        ax.set_xscale("log")
        ax.set_title(ch, fontsize="medium")
    for ax in axes[-1]:
        ax.set_xlabel(r"$c\tau$ [cm]")
    for ax in axes[:, 0]:
        ax.set_ylabel("signal efficiency")
    for ax in axes.ravel()[len(chans) :]:
        ax.set_visible(False)
    labels: dict[str, Any] = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            labels.setdefault(lab, h)
    fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=min(len(labels), 5),
               fontsize="small", frameon=False)  # fmt: skip
    fig.suptitle("fastsim signal efficiency per channel", fontsize="medium")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, out)
    return out


def _col(rs: list[dict[str, object]], name: str) -> np.ndarray:
    return np.array([r.get(name, np.nan) for r in rs], dtype=float)


def _segments(m: np.ndarray) -> list[slice]:
    """Break lines where neighbouring masses jump over a vetoed gap."""
    if len(m) < 2:
        return [slice(0, len(m))]
    step = np.median(np.diff(m))
    gap = np.flatnonzero(np.diff(m) > max(0.1, 20 * step))
    return [slice(a, b) for a, b in zip(np.r_[0, gap + 1], np.r_[gap + 1, len(m)], strict=True)]


@styled
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
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(8.0 * len(models), 6.4), squeeze=False)
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
        ax.set_ylabel(f"{round(cl * 100)}% CL upper limit on {_coupling_label(model)}")
        ax.set_title(f"{_model_label(model)}, {lumi_fb:g} fb$^{{-1}}$ (fastsim)", fontsize="medium")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return save_figure(fig, out_base.with_suffix(".png"))


def write_hepdata(
    rows: list[dict[str, object]], out_dir: Path, search: Search, lumi_fb: float, cl: float
) -> Path:
    """HEPData submission written with hepdata-lib: one table per model (``<model>_limits.yaml``)
    with the expected (and observed) limits on sigma x BF (fb) and on the coupling vs the mass,
    the +-1 and +-2 sigma bands as asymmetric errors, the reaction, sqrt(s), luminosity and CL as
    qualifiers; ``submission.yaml`` beside them and the uploadable ``hepdata_submission.tar.gz``
    next to ``out_dir``.  Validated by hepdata-validator (through hepdata-lib)."""
    import contextlib

    with warnings.catch_warnings():  # hepdata-lib imports hepdata-validator (jsonschema.RefResolver)
        warnings.simplefilter("ignore", DeprecationWarning)
        from hepdata_lib import Submission, Table, Uncertainty, Variable

    out_dir = Path(out_dir).resolve()
    pct = f"{round(cl * 100)}%"
    sub = Submission()
    sub.comment = f"fastsim expected limits, {search.title} ({search.reference} selection)"
    for name, rs in _channel_tables(rows).items():
        sub.add_table(_channel_hepdata_table(name, rs, search, lumi_fb, pct))
    for model in dict.fromkeys(str(r["model"]) for r in _coupling_rows(rows)):
        rs = [r for r in _coupling_rows(rows) if r["model"] == model]
        table = Table(f"{model} limits")
        table.description = (
            f"Expected {pct} CL upper limits on sigma x BF and on the coupling vs the mass, {model} model, "
            f"{search.title}, fastsim simulation."
        )
        table.location = "fastsim simulation"
        table.keywords["observables"] = ["SIG*BF", "COUPLING"]
        mass = Variable("M(X)", is_independent=True, is_binned=False, units="GEV")
        mass.values = [float(r["mass_gev"]) for r in rs]  # type: ignore[arg-type]
        table.add_variable(mass)

        def dependent(
            name: str, key: str, units: str, bands: bool, rs: list[dict[str, object]] = rs, model: str = model
        ) -> Variable:
            var = Variable(name, is_independent=False, is_binned=False, units=units)
            # a band of zero width (an island edge at the model's bound) is written without
            # errors: hepdata-lib's per-bin notice about it would flood the terminal
            var.zero_uncertainties_warning = False
            var.values = [float(r[key]) for r in rs]  # type: ignore[arg-type]
            for qname, value, qunits in (("RE", search.channel, ""), ("model", model, ""),
                                         ("SQRT(S)", 10.58, "GEV"), ("LUMINOSITY", lumi_fb, "FB^-1"),
                                         ("CL", pct, "")):  # fmt: skip
                var.add_qualifier(qname, value, qunits)
            if bands:
                for label, lo, hi in (("1 sigma", "_m1s", "_p1s"), ("2 sigma", "_m2s", "_p2s")):
                    unc = Uncertainty(label, is_symmetric=False)
                    unc.values = [
                        (float(r[key + lo]) - float(r[key]), float(r[key + hi]) - float(r[key]))  # type: ignore[arg-type]
                        for r in rs
                    ]
                    var.add_uncertainty(unc)
            return var

        if "xsec_bf_ul_fb_expected" in rs[0]:
            table.add_variable(
                dependent(
                    f"expected {pct} CL upper limit on sigma x BF", "xsec_bf_ul_fb_expected", "FB", True
                )
            )
        table.add_variable(
            dependent(f"expected {pct} CL upper limit on the coupling", "coupling_ul_expected", "", True)
        )
        if "coupling_excl_max_expected" in rs[0]:
            table.add_variable(
                dependent(
                    f"expected {pct} CL upper edge of the excluded couplings",
                    "coupling_excl_max_expected",
                    "",
                    True,
                )
            )
        if "xsec_bf_ul_fb_observed" in rs[0]:
            table.add_variable(
                dependent(
                    f"observed {pct} CL upper limit on sigma x BF", "xsec_bf_ul_fb_observed", "FB", False
                )
            )
            table.add_variable(
                dependent(f"observed {pct} CL upper limit on the coupling", "coupling_ul_observed", "", False)
            )
        sub.add_table(table)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(out_dir.parent), warnings.catch_warnings():
        # hepdata-lib writes its tarball into the working directory; its validator (hepdata-
        # validator 0.3) uses jsonschema.RefResolver (deprecated in jsonschema >= 4.18) and leaves
        # the table files open: collected here, under the same filter
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        sub.create_files(str(out_dir), validate=True, remove_old=True)
        gc.collect()
        Path("submission.tar.gz").replace("hepdata_submission.tar.gz")
    return out_dir / "submission.yaml"


def _channel_tables(rows: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    """A channel search's per-channel rows by channel name (empty for other searches)."""
    out: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        ch = r.get("channel")
        if ch is not None and ch != "combined":
            out.setdefault(str(ch), []).append(r)
    return out


def _channel_hepdata_table(
    name: str, rs: list[dict[str, object]], search: Search, lumi_fb: float, pct: str
) -> Any:
    """One HEPData table of a channel: the expected limit on BR x BR vs mass, one dependent
    variable per c*tau with its +-1 and +-2 sigma bands."""
    from hepdata_lib import Table, Uncertainty, Variable

    table = Table(f"{name} limits")
    table.description = (
        f"Expected {pct} CL upper limits on BR x BR vs the mass, channel {name}, {search.title}, fastsim."
    )
    table.location = "fastsim simulation"
    table.keywords["observables"] = ["BR"]
    ctaus = sorted({float(r["ctau_cm"]) for r in rs})  # type: ignore[arg-type]
    masses = sorted({float(r["mass_gev"]) for r in rs})  # type: ignore[arg-type]
    mass = Variable("M(S)", is_independent=True, is_binned=False, units="GEV")
    mass.values = masses
    table.add_variable(mass)
    for ct in ctaus:
        by_m = {float(r["mass_gev"]): r for r in rs if float(r["ctau_cm"]) == ct}  # type: ignore[arg-type]
        var = Variable(
            f"expected {pct} CL upper limit on BR x BR, ctau = {ct:g} cm",
            is_independent=False,
            is_binned=False,
        )
        med = [float(by_m[m]["br_ul_expected"]) if m in by_m else float("nan") for m in masses]  # type: ignore[arg-type]
        var.zero_uncertainties_warning = False
        var.values = med
        for qname, value, qunits in (("RE", search.channel, ""), ("CHANNEL", name, ""), ("CTAU", ct, "CM"),
                                     ("LUMINOSITY", lumi_fb, "FB^-1"), ("CL", pct, "")):  # fmt: skip
            var.add_qualifier(qname, value, qunits)
        for label, lo, hi in (("1 sigma", "_m1s", "_p1s"), ("2 sigma", "_m2s", "_p2s")):
            unc = Uncertainty(label, is_symmetric=False)
            unc.values = [
                (float(by_m[m]["br_ul_expected" + lo]) - v, float(by_m[m]["br_ul_expected" + hi]) - v)  # type: ignore[arg-type]
                if m in by_m
                else (0.0, 0.0)
                for m, v in zip(masses, med, strict=True)
            ]
            var.add_uncertainty(unc)
        table.add_variable(var)
    return table


def workspace_for(row: dict[str, object], lumi_fb: float, region: Any, cl: float = 0.90) -> dict[str, Any]:
    """The pyhf JSON workspace of one signal region (a row of limits.csv): one bin per mass
    window, or one bin per category; signal = efficiency x L (events for sigma x BF = 1 fb, so
    the parameter of interest ``mu`` is sigma x BF in fb), background with its uncertainty as
    ``shapesys`` (the model of ``pyhf.simplemodels.uncorrelated_background``), observations =
    the observed count where given, else the background (the Asimov data of the expected limit)."""
    if isinstance(region, Categories):
        names = list(region.names)
        eff = [float(row[f"efficiency_{n}"]) for n in names]  # type: ignore[arg-type]
        b = [float(row[f"background_{n}"]) for n in names]  # type: ignore[arg-type]
        db = [float(row[f"background_err_{n}"]) for n in names]  # type: ignore[arg-type]
        keep = [i for i, e in enumerate(eff) if e > 0]
        eff, b, db = [eff[i] for i in keep], [b[i] for i in keep], [db[i] for i in keep]
        obs = b
    else:
        eff = [float(row["efficiency"])]  # type: ignore[arg-type]
        b = [float(row["background"])]  # type: ignore[arg-type]
        db = [float(row["background_err"])]  # type: ignore[arg-type]
        obs = [float(row["n_observed"])] if "n_observed" in row else b  # type: ignore[arg-type]
    b = [max(x, 1e-9) for x in b]
    db = [max(d, 1e-6 * x) for d, x in zip(db, b, strict=True)]
    name = f"{row['model']}_m{float(row['mass_gev']):.6g}"  # type: ignore[arg-type]
    return {
        "version": "1.0.0",
        "channels": [
            {
                "name": name,
                "samples": [
                    {"name": "signal", "data": [e * lumi_fb for e in eff],
                     "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
                    {"name": "background", "data": b,
                     "modifiers": [{"name": "uncorr_bkguncrt", "type": "shapesys", "data": db}]},
                ],
            }
        ],
        "observations": [{"name": name, "data": obs}],
        "measurements": [
            {"name": "sigma_bf_fb", "config": {"poi": "mu", "parameters": [
                {"name": "mu", "bounds": [[0.0, 1e12]], "inits": [1.0]}]}}
        ],
    }  # fmt: skip


def write_workspaces(rows: list[dict[str, object]], out_dir: Path, lumi_fb: float, region: Any) -> list[Path]:
    """One pyhf workspace per signal region (mass window or set of categories) with non-zero
    efficiency: ``<model>_m<mass>.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for r in rows:
        if not float(r["efficiency"]) > 0:  # type: ignore[arg-type]
            continue
        ws = workspace_for(r, lumi_fb, region)
        path = out_dir / f"{ws['channels'][0]['name']}.json"
        path.write_text(json.dumps(ws, indent=1))
        out.append(path)
    return out


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


@styled
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
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    lumis = sorted({float(r["lumi_fb"]) for r in rows})  # type: ignore[arg-type]
    fig, axes = plt.subplots(1, len(models), figsize=(8.0 * len(models), 6.4), squeeze=False)
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
        ax.set_ylabel(f"expected {round(cl * 100)}% CL limit on {_coupling_label(model)}")
        ax.set_title(f"{_model_label(model)}: projection (fastsim)", fontsize="medium")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    save_figure(fig, out)
    return out


def analyze(
    name: str,
    files: list[Path],
    lumi_fb: float | None,
    out_dir: Path,
    observed: Path | None = None,
    projections: list[float] | None = None,
    projection_syst: list[float] | None = None,
    compare: list[Path] | None = None,
    workspaces: Path | None = None,
) -> Path:
    """Run search ``name`` on fastsim HDF5 ``files`` (signal and background, told apart by
    their ``/meta``) at luminosity ``lumi_fb`` (fb^-1; None: each file at its data set's
    luminosity, data sets combined, :func:`analysis.samples.load_samples`); write limits.csv, limits.png/.pdf,
    hepdata/, summary.json (and projections.csv/.png) into ``out_dir``, and with ``workspaces``
    one pyhf JSON workspace per signal region there.  Returns limits.csv."""
    search: Search = SEARCHES[name]()
    if lumi_fb is not None and not lumi_fb > 0:
        raise ValueError(f"--lumi: luminosity must be > 0 fb^-1, got {lumi_fb}")
    if projections and any(x <= 0 for x in projections):
        raise ValueError(f"--projections: luminosities must be > 0 fb^-1, got {projections}")
    for f in files:
        if not Path(f).is_file():
            raise ValueError(f"{f}: no such file")
    curves = [read_compare(Path(c)) for c in compare or []]
    obs = read_observed(observed, search.models) if observed is not None else None
    names = ", ".join(Path(f).name for f in files)
    samples = load_samples(search, [Path(f) for f in files], lumi_fb)
    lumi_fb = samples.lumi_fb  # without --lumi: the data sets' total
    if not samples.signal:
        raise ValueError(f"no signal process of the models {', '.join(search.models)} in {names}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = search.statistics
    try:
        rows = limit_table(search, samples, obs)
    except ValueError as exc:  # e.g. no truth-matched signal for the resolution model
        raise ValueError(f"{names}: {exc}") from None
    csv_path = out_dir / "limits.csv"
    _write_csv(rows, csv_path)
    coupling_rows = _coupling_rows(rows)
    if coupling_rows:
        plot_limits(coupling_rows, out_dir / "limits", lumi_fb, stats.cl, search.observable_label, curves)
    if isinstance(search.region, Channels):
        plot_channel_limits(rows, out_dir / "br_limits.png", search.observable_label, stats.cl, lumi_fb)
        plot_channel_efficiency(rows, out_dir / "efficiency.png", search.observable_label)
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
    if workspaces is not None:
        summary["workspaces"] = len(write_workspaces(rows, Path(workspaces), lumi_fb, search.region))
    if projections:
        prow = projection_table(search, samples, [float(x) for x in projections], projection_syst)
        _write_csv(prow, out_dir / "projections.csv")
        plot_projections(
            _coupling_rows(prow),
            out_dir / "projections.png",
            search.observable_label,
            stats.cl,
            coupling_rows,
            lumi_fb,
        )
        summary["projections_fb"] = [float(x) for x in projections]
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return csv_path
