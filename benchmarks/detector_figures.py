"""Detector numbers quoted in docs/detector.md: displaced-track efficiency vs production
radius (table, and the plot docs/figures/track_eff_vs_radius.png, needs matplotlib), and the
dimuon mass resolution of 1 and 5 GeV resonances (Belle II and Belle).

    PYTHONPATH=. python benchmarks/detector_figures.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


def dimuon_mass_resolution(det, mass: float, n: int = 20000) -> float:
    """Prompt Z' -> mu mu from e+e- -> gamma Z' at sqrt(s) = 10.58 GeV (CM momentum
    (s - m^2)/(2 sqrt s), isotropic, no boost), both muons in 17-150 deg: sigma68 of m(mu mu)."""
    from test_detector import TABLE, sigma68, single

    rng = np.random.default_rng(3)
    s = 10.58**2
    pz_ = (s - mass**2) / (2 * math.sqrt(s))
    m_mu = TABLE.mass(np.array([13]))[0]
    pstar = math.sqrt(mass**2 / 4 - m_mu**2)
    ct = rng.uniform(-0.9, 0.9, n)
    ph = rng.uniform(-np.pi, np.pi, n)
    d = np.stack([np.sqrt(1 - ct**2) * np.cos(ph), np.sqrt(1 - ct**2) * np.sin(ph), ct], 1)
    c = rng.uniform(-1, 1, n)
    f = rng.uniform(-np.pi, np.pi, n)
    k = pstar * np.stack([np.sqrt(1 - c**2) * np.cos(f), np.sqrt(1 - c**2) * np.sin(f), c], 1)
    e = math.hypot(pz_, mass)
    gamma, bg = e / mass, pz_ / mass
    estar = math.hypot(pstar, m_mu)
    moms = []
    for sign in (1, -1):
        kpar = sign * np.sum(k * d, 1)
        moms.append(sign * k + d * (gamma * kpar + bg * estar - kpar)[:, None])
    allm = np.stack(moms, 1).reshape(-1, 3)
    p = np.linalg.norm(allm, axis=1)
    mc = single(
        np.tile([13, -13], n), p, np.arccos(allm[:, 2] / p), np.arctan2(allm[:, 1], allm[:, 0]), per_event=2
    )
    tr = det.simulate(mc, np.random.default_rng(4))["tracks"]
    ok = np.flatnonzero(tr.counts() == 2)
    a, b = tr.offsets[ok], tr.offsets[ok] + 1
    pa = np.stack([tr["px"][a], tr["py"][a], tr["pz"][a]], 1)
    pb = np.stack([tr["px"][b], tr["py"][b], tr["pz"][b]], 1)
    ea = np.sqrt((pa**2).sum(1) + m_mu**2)
    eb = np.sqrt((pb**2).sum(1) + m_mu**2)
    m = np.sqrt((ea + eb) ** 2 - ((pa + pb) ** 2).sum(1))
    return sigma68(m)


PLOT = REPO / "docs" / "figures" / "track_eff_vs_radius.png"


def plot_efficiency(curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]], path: Path) -> None:
    """Per-track finding efficiency vs transverse production radius, one curve per detector,
    binomial errors, and the published average for Belle II (52.2%, arXiv:2411.13596)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, (centres, eff, err, avg) in curves.items():
        label = {"belle2": "Belle II", "belle": "Belle"}.get(name, name)
        ax.errorbar(centres, eff, yerr=err, marker="o", ms=4, capsize=2, label=f"{label} (average {avg:.3f})")
    ax.axhline(0.522, color="grey", ls="--", lw=1, label="Belle II published average 0.522")
    ax.set_xlabel("transverse production radius (cm)")
    ax.set_ylabel("track-finding efficiency per track")
    ax.set_title("1 GeV -> mu mu, parent 1-4 GeV, 30-130 deg")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path.relative_to(REPO)}")


def main() -> None:
    from test_detector import detector, llp_sample

    curves = {}
    for name in ("belle2", "belle"):
        det = detector(name)
        mc, r = llp_sample(40000, np.random.default_rng(9))
        tr = det.simulate(mc, np.random.default_rng(10))["tracks"]
        found = np.bincount(tr.event_index(), minlength=mc.n_events) / 2.0
        edges = np.arange(0, 101, 10)
        rows = [f"{lo}-{lo + 10}: {found[(r >= lo) & (r < lo + 10)].mean():.3f}" for lo in edges[:-1]]
        fine = np.arange(0, 101, 5)
        b = np.clip(np.digitize(r, fine) - 1, 0, len(fine) - 2)
        n_b = 2.0 * np.bincount(b, minlength=len(fine) - 1)  # tracks per bin
        eff = 2.0 * np.bincount(b, found, minlength=len(fine) - 1) / n_b
        curves[name] = (0.5 * (fine[1:] + fine[:-1]), eff, np.sqrt(eff * (1 - eff) / n_b), found.mean())
        print(f"{name}: displaced two-track efficiency, average {found.mean():.3f}")
        print("   " + ", ".join(rows))
        for mass in (1.0, 5.0):
            print(f"   m(mu mu) resolution at {mass} GeV: {1e3 * dimuon_mass_resolution(det, mass):.2f} MeV")
    try:
        plot_efficiency(curves, PLOT)
    except ImportError:
        print("matplotlib not installed: no plot (pip install matplotlib)")


if __name__ == "__main__":
    main()
