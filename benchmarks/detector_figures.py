"""Detector numbers quoted in docs/detector.md: displaced-track efficiency vs production
radius, and the dimuon mass resolution of 1 and 5 GeV resonances (Belle II and Belle).

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


def main() -> None:
    from test_detector import detector, llp_sample

    for name in ("belle2", "belle"):
        det = detector(name)
        mc, r = llp_sample(40000, np.random.default_rng(9))
        tr = det.simulate(mc, np.random.default_rng(10))["tracks"]
        found = np.bincount(tr.event_index(), minlength=mc.n_events) / 2.0
        edges = np.arange(0, 101, 10)
        rows = [f"{lo}-{lo + 10}: {found[(r >= lo) & (r < lo + 10)].mean():.3f}" for lo in edges[:-1]]
        print(f"{name}: displaced two-track efficiency, average {found.mean():.3f}")
        print("   " + ", ".join(rows))
        for mass in (1.0, 5.0):
            print(f"   m(mu mu) resolution at {mass} GeV: {1e3 * dimuon_mass_resolution(det, mass):.2f} MeV")


if __name__ == "__main__":
    main()
