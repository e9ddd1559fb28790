"""Figures of Belle's Level-1 trigger emulation (docs/figures/trigger_belle_*.png): each
sub-trigger's efficiency against the quantity it cuts on, with the Belle detector card.

    python benchmarks/belle_trigger_figures.py

* CDC short and full tracks vs pT (single pi+, 45-120 deg, from the origin);
* a TSC hit vs the polar angle (single 1 GeV mu+);
* the ECL energy-sum bits (LoE, HiE) vs the energy of a single photon (barrel), and the ICN line
  vs the number of 0.4 GeV photons;
* a KLM trigger track vs the muon momentum (barrel);
* the two-track line vs the azimuthal opening of two 2 GeV muons at 90 deg.

Units: GeV, rad (degrees on the axes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _stages():
    from fastsim.cards import load_card
    from fastsim.detector.simulate import DetectorStage
    from fastsim.particles import ParticleTable
    from fastsim.trigger.belle import BelleTriggerStage
    from fastsim.trigger.card import TRIGGER_SCHEMA

    card = dict(load_card(REPO / "cards" / "belle.yaml"))
    cfg = TRIGGER_SCHEMA.validate(card["trigger"], ("trigger",), lambda _p: None)
    table = ParticleTable()
    return BelleTriggerStage(card, cfg, table), DetectorStage(card["detector"], table)


def multi_gun(pdg: int, p: np.ndarray, theta: np.ndarray, phi: np.ndarray, mass: float):
    """Events of k particles each: ``p``, ``theta``, ``phi`` have shape (n, k); from the origin."""
    from fastsim.events import MC_FIELDS, STATUS_FINAL, Collection

    n, k = p.shape
    f = {name: np.zeros(n * k, dt) for name, dt in MC_FIELDS.items()}
    for name in ("mother1", "mother2", "daughter1", "daughter2"):
        f[name][:] = -1
    f["status"][:] = STATUS_FINAL
    pf, tf, ff = p.ravel(), theta.ravel(), phi.ravel()
    f["id"][:] = pdg
    f["px"], f["py"], f["pz"] = pf * np.sin(tf) * np.cos(ff), pf * np.sin(tf) * np.sin(ff), pf * np.cos(tf)
    f["m"][:] = mass
    f["e"] = np.hypot(pf, mass)
    return Collection.from_counts(np.full(n, k, np.int64), f)


def _save(plt, out, name: str, x, curves: dict, xlabel: str, ylabel: str, title: str) -> None:
    """One efficiency figure: ``curves`` label -> values over ``x`` (label "" for a single curve)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, values), marker in zip(curves.items(), "os^v", strict=False):
        ax.plot(x, values, marker + "-", label=label or None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / name, dpi=120)
    plt.close(fig)


def _run(mc, trig, det, seed):
    from fastsim.trigger.studies import run_on

    return run_on(mc, trig, det, seed).events


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trig, det = _stages()
    out = REPO / "docs" / "figures"
    rng = np.random.default_rng(1)
    n = 2000
    m_pi, m_mu = 0.13957, 0.10566
    results = {}

    def uni(lo, hi, shape):
        return rng.uniform(lo, hi, shape)

    # CDC short / full tracks vs pT
    pts = np.arange(0.1, 0.62, 0.02)
    short, full = [], []
    for pt in pts:
        th = np.radians(uni(45, 120, (n, 1)))
        ev = _run(multi_gun(211, pt / np.sin(th), th, uni(-np.pi, np.pi, (n, 1)), m_pi), trig, None, 2)
        short.append(float((ev["trg_n_short"] >= 1).mean()))
        full.append(float((ev["trg_n_full"] >= 1).mean()))
    results["cdc"] = (pts, short, full)
    _save(plt, out, "trigger_belle_cdc_vs_pt.png", pts, {"short track": short, "full track": full},
          "pT [GeV] (pi+, 45-120 deg)", "efficiency", "Belle CDC r-phi trigger")  # fmt: skip

    # TSC vs polar angle
    thetas = np.arange(20, 160, 5.0)
    tsc = []
    for t in thetas:
        th = np.full((n, 1), np.radians(t))
        ev = _run(multi_gun(-13, np.full((n, 1), 1.0), th, uni(-np.pi, np.pi, (n, 1)), m_mu), trig, None, 3)
        tsc.append(float((ev["trg_n_tof"] >= 1).mean()))
    results["tsc"] = (thetas, tsc)
    _save(plt, out, "trigger_belle_tsc_vs_theta.png", thetas, {"": tsc},
          "theta [deg] (1 GeV mu+)", "TSC hit", "Belle TOF (TSC) trigger")  # fmt: skip

    # ECL: LoE / HiE vs photon energy; ICN vs number of photons
    energies = np.arange(0.2, 2.05, 0.1)
    loe, hie = [], []
    for e in energies:
        th = np.radians(uni(50, 110, (n, 1)))
        ev = _run(multi_gun(22, np.full((n, 1), e), th, uni(-np.pi, np.pi, (n, 1)), 0.0), trig, det, 4)
        loe.append(float((ev["trg_ecl_energy"] > 0.5).mean()))
        hie.append(float(ev["trg_hie"].mean()))
    ks = np.arange(1, 8)
    icn = []
    for k in ks:
        th = np.radians(uni(50, 110, (n, k)))
        ph = rng.uniform(-np.pi, np.pi, (n, k))
        ev = _run(multi_gun(22, np.full((n, k), 0.4), th, ph, 0.0), trig, det, 5)
        icn.append(float(ev["trg_icn"].mean()))
    results["ecl"] = (energies, loe, hie, ks, icn)
    fig, axs = plt.subplots(1, 2, figsize=(10, 4))
    axs[0].plot(energies, loe, "o-", label="E sum > 0.5 GeV (LoE)")
    axs[0].plot(energies, hie, "s-", label="hie (> 1 GeV, not Bhabha)")
    axs[0].set_xlabel("photon energy [GeV] (barrel)")
    axs[0].set_ylabel("efficiency")
    axs[0].legend()
    axs[1].plot(ks, icn, "o-")
    axs[1].set_xlabel("photons of 0.4 GeV (barrel)")
    axs[1].set_ylabel("icn (>= 4 isolated clusters)")
    for a in axs:
        a.set_ylim(0, 1.05)
    fig.suptitle("Belle ECL trigger")
    fig.tight_layout()
    fig.savefig(out / "trigger_belle_ecl.png", dpi=120)
    plt.close(fig)

    # KLM vs muon momentum
    moms = np.arange(0.4, 3.05, 0.1)
    klm = []
    for p in moms:
        th = np.radians(uni(50, 110, (n, 1)))
        ev = _run(multi_gun(-13, np.full((n, 1), p), th, uni(-np.pi, np.pi, (n, 1)), m_mu), trig, det, 6)
        klm.append(float((ev["trg_n_klm"] >= 1).mean()))
    results["klm"] = (moms, klm)
    _save(plt, out, "trigger_belle_klm_vs_p.png", moms, {"": klm},
          "muon momentum [GeV] (50-110 deg)", "KLM trigger track", "Belle KLM trigger")  # fmt: skip

    # two-track vs opening angle
    opens = np.arange(90, 181, 5.0)
    two = []
    for o in opens:
        phi1 = uni(-np.pi, np.pi, n)
        ph = np.stack([phi1, phi1 + np.radians(o)], axis=1)
        th = np.full((n, 2), np.pi / 2)
        ev = _run(multi_gun(13, np.full((n, 2), 2.0), th, ph, m_mu), trig, det, 7)
        two.append(float(ev["trg_two_track"].mean()))
    results["two_track"] = (opens, two)
    _save(plt, out, "trigger_belle_two_track_vs_opening.png", opens, {"": two},
          "azimuthal opening [deg] (two 2 GeV muons at 90 deg)", "two_track", "Belle two-track line")  # fmt: skip

    for key, vals in results.items():
        print(key, [np.round(np.asarray(v, float), 3).tolist() for v in vals])


if __name__ == "__main__":
    main()
