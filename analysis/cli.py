"""``fastsim analyze NAME FILES... --lumi L -o DIR``: run an analysis module and write its outputs.

Outputs in DIR: ``limits.csv`` (one row per model and mass), ``limits.png`` and ``limits.pdf``
(coupling limits vs mass with the expected +-1, +-2 sigma bands), ``hepdata/submission.yaml``
with one HEPData-style table per model (``hepdata/<model>_limits.yaml``), ``cutflow.csv``-like
summary in ``summary.json``.  Signal and background files are told apart by the generator
names of their processes in ``/meta`` (:data:`analysis.io.SIGNAL_GENERATORS`).

Observed counts (optional): a CSV with columns ``mass_gev`` and ``observed`` (and optionally
``model``), the number of events observed in the window at that mass.

Units: GeV; cross sections in fb; luminosity in fb^-1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import yaml

from analysis.interpretation import LimitSettings, limit_table
from analysis.zprime_4mu import load_samples

__all__ = ["ANALYSES", "analyze", "plot_limits", "read_observed", "write_hepdata"]

ANALYSES = ("zprime_4mu",)
_MODEL_LABEL = {"zprime": r"$L_\mu - L_\tau$ $Z'$: $g'$", "scalar": r"muonphilic scalar: $g_S$"}


def read_observed(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Observed counts per model from a CSV (mass_gev, observed[, model]); rows without a model
    apply to both models."""
    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"mass_gev", "observed"} <= set(rows[0]):
        raise ValueError(f"{path}: expected CSV columns mass_gev, observed[, model]")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for model in ("zprime", "scalar"):
        sel = [r for r in rows if r.get("model", "") in ("", model)]
        if sel:
            out[model] = (
                np.array([float(r["mass_gev"]) for r in sel]),
                np.array([float(r["observed"]) for r in sel]),
            )
    return out


def plot_limits(rows: list[dict[str, object]], out_base: Path, lumi_fb: float, cl: float) -> list[Path]:
    """Coupling upper limits vs mass (expected median, +-1 and +-2 sigma bands, observed when
    present), one panel per model.  Writes ``out_base``.png and .pdf."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in ("zprime", "scalar") if any(r["model"] == m for r in rows)]
    fig, axes = plt.subplots(1, len(models), figsize=(6.0 * len(models), 4.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        rs = [r for r in rows if r["model"] == model]
        m = np.array([r["mass_gev"] for r in rs], dtype=float)

        def col(name: str, rs: list[dict[str, object]] = rs) -> np.ndarray:
            return np.array([r[name] for r in rs], dtype=float)

        # the J/psi gap stays a gap: break the lines where neighbouring masses jump over it
        gap = np.flatnonzero(np.diff(m) > 0.1)
        for a, b in zip(np.r_[0, gap + 1], np.r_[gap + 1, len(m)], strict=True):
            s = slice(a, b)
            ax.fill_between(m[s], col("coupling_ul_expected_m2s")[s], col("coupling_ul_expected_p2s")[s],
                            color="#ffcc00", lw=0, label="expected $\\pm 2\\sigma$" if a == 0 else None)  # fmt: skip
            ax.fill_between(m[s], col("coupling_ul_expected_m1s")[s], col("coupling_ul_expected_p1s")[s],
                            color="#00cc00", lw=0, label="expected $\\pm 1\\sigma$" if a == 0 else None)  # fmt: skip
            ax.plot(m[s], col("coupling_ul_expected")[s], "k--", lw=1, label="expected" if a == 0 else None)
            if "coupling_ul_observed" in rs[0]:
                ax.plot(
                    m[s], col("coupling_ul_observed")[s], "k-", lw=1.2, label="observed" if a == 0 else None
                )
        ax.set_yscale("log")
        ax.set_xlabel("$m_X$ [GeV]")
        ax.set_ylabel(f"{round(cl * 100)}% CL upper limit on the coupling")
        ax.set_title(f"{_MODEL_LABEL[model]}, {lumi_fb:g} fb$^{{-1}}$ (fastsim)", fontsize="medium")
        ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    outs = []
    for ext in ("png", "pdf"):
        p = out_base.with_suffix(f".{ext}")
        fig.savefig(p, dpi=130)
        outs.append(p)
    plt.close(fig)
    return outs


def write_hepdata(rows: list[dict[str, object]], out_dir: Path, lumi_fb: float, cl: float) -> Path:
    """HEPData-style submission: ``submission.yaml`` and one table per model with the expected
    (and observed) limits on sigma x BF (fb) and on the coupling, bands as asymmetric errors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    docs: list[dict[str, object]] = [
        {
            "comment": "fastsim expected limits for the Belle II four-muon search (arXiv:2403.02841 selection)",
            "additional_resources": [],
        }
    ]
    pct = f"{round(cl * 100)}%"
    for model in ("zprime", "scalar"):
        rs = [r for r in rows if r["model"] == model]
        if not rs:
            continue
        quals = [
            {"name": "RE", "value": "E+ E- --> MU+ MU- X, X --> MU+ MU-"},
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
            {
                "header": {"name": f"expected {pct} CL upper limit on sigma x BF", "units": "FB"},
                "qualifiers": quals,
                "values": [band(r, "xsec_bf_ul_fb_expected") for r in rs],
            },
            {
                "header": {"name": f"expected {pct} CL upper limit on the coupling"},
                "qualifiers": quals,
                "values": [band(r, "coupling_ul_expected") for r in rs],
            },
        ]
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
                "description": f"Expected {pct} CL upper limits on sigma(e+e- -> mu mu X) x BF(X -> mu mu)"
                f" and on the coupling vs the X mass, {model} model, fastsim simulation.",
                "keywords": [{"name": "observables", "values": ["SIG*BF", "COUPLING"]}],
                "data_file": fname,
            }
        )
    sub = out_dir / "submission.yaml"
    sub.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return sub


def analyze(name: str, files: list[Path], lumi_fb: float, out_dir: Path, observed: Path | None) -> Path:
    """Run analysis ``name`` on fastsim HDF5 ``files`` (signal and background, told apart by
    their ``/meta``) at luminosity ``lumi_fb`` (fb^-1); write limits.csv, limits.png/.pdf,
    hepdata/ and summary.json into ``out_dir``.  Returns the path of limits.csv."""
    if name not in ANALYSES:
        raise ValueError(f"unknown analysis {name!r} (available: {', '.join(ANALYSES)})")
    if lumi_fb <= 0:
        raise ValueError(f"luminosity must be > 0 fb^-1, got {lumi_fb}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = load_samples([Path(f) for f in files], lumi_fb)
    if not samples.signal:
        raise ValueError("no signal process (ee_mumu_zprime / ee_mumu_scalar) in the given files")
    settings = LimitSettings()
    obs = read_observed(observed) if observed is not None else None
    rows = limit_table(samples, settings, obs)
    csv_path = out_dir / "limits.csv"
    tmp = out_dir / "limits.csv.part"
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(csv_path)
    plot_limits(rows, out_dir / "limits", lumi_fb, settings.cl)
    write_hepdata(rows, out_dir / "hepdata", lumi_fb, settings.cl)
    summary = {
        "analysis": name,
        "lumi_fb": lumi_fb,
        "settings": settings.__dict__,
        "background_selected_events": samples.bkg_expected_total,
        "signal_points": sorted(f"{m}:{x:g}" for m, x in samples.signal),
        "files": [str(f) for f in files],
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return csv_path
