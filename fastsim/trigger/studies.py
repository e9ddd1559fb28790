"""Efficiency studies of the trigger emulation (used by the tests, the benchmark and docs/trigger.md).

Units: GeV, cm, rad.

* :func:`gun_mc` -- MC records of single particles from given vertices;
* :func:`llp_mc` -- a neutral long-lived particle decaying to mu+ mu- at a given (r, z);
* :func:`default_stage` -- the trigger stage of the shipped Belle II Run 1 card;
* :func:`stt_efficiency` -- single-track-trigger efficiency of prompt muons in bins;
* :func:`z_resolution` -- core width of z_nn - z0 for prompt tracks.

``python -m fastsim.trigger.studies`` prints the tables quoted in docs/trigger.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastsim.events import MC_FIELDS, STATUS_DECAYED, STATUS_FINAL, Collection, EventBatch

__all__ = ["default_stage", "gun_mc", "llp_mc", "stt_efficiency", "z_resolution"]

M_MU = 0.1056583755  # GeV, PDG 2024


def _record(n: int, k: int) -> dict[str, np.ndarray]:
    f = {name: np.zeros(n * k, dt) for name, dt in MC_FIELDS.items()}
    for name in ("mother1", "mother2", "daughter1", "daughter2"):
        f[name][:] = -1
    f["status"][:] = STATUS_FINAL
    return f


def gun_mc(
    pdg: np.ndarray, p: np.ndarray, theta: np.ndarray, phi: np.ndarray, vz: np.ndarray, mass: float = M_MU
) -> Collection:
    """One particle per event with momentum p (GeV) at (theta, phi) from (0, 0, vz) (cm)."""
    n = len(p)
    f = _record(n, 1)
    f["id"][:] = pdg
    f["px"], f["py"], f["pz"] = (
        p * np.sin(theta) * np.cos(phi),
        p * np.sin(theta) * np.sin(phi),
        p * np.cos(theta),
    )
    f["m"][:] = mass
    f["e"] = np.hypot(p, mass)
    f["vz"] = np.asarray(vz, np.float64)
    return Collection.from_counts(np.ones(n, np.int64), f)


def llp_mc(
    r: np.ndarray, z: np.ndarray, mass: float, p: float, rng: np.random.Generator, pdg: int = 4900023
) -> Collection:
    """A neutral particle of ``mass`` and momentum ``p`` (GeV) from the origin, flying towards
    and decaying at (r, z) (cm; random azimuth) to mu+ mu- (isotropic in its rest frame)."""
    n = len(r)
    f = _record(n, 3)
    th = np.arctan2(r, z)
    ph = rng.uniform(-np.pi, np.pi, n)
    d = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=1)
    e = math.hypot(p, mass)
    # rest-frame decay
    q = math.sqrt(max(mass**2 / 4 - M_MU**2, 0.0))
    ct = rng.uniform(-1, 1, n)
    pp = rng.uniform(-np.pi, np.pi, n)
    st = np.sqrt(1 - ct**2)
    k = q * np.stack([st * np.cos(pp), st * np.sin(pp), ct], axis=1)
    gamma, bg = e / mass, p / mass
    kd = np.sum(k * d, axis=1)
    e_rest = math.hypot(q, M_MU)
    i0 = np.arange(n) * 3
    f["id"][i0] = pdg
    f["status"][i0] = STATUS_DECAYED
    f["daughter1"][i0], f["daughter2"][i0] = 1, 2
    f["px"][i0], f["py"][i0], f["pz"][i0] = p * d[:, 0], p * d[:, 1], p * d[:, 2]
    f["e"][i0], f["m"][i0] = e, mass
    for j, sign in ((1, 1.0), (2, -1.0)):
        kk = sign * k
        kpar = sign * kd
        lab = kk + ((gamma - 1) * kpar + bg * e_rest)[:, None] * d
        ij = i0 + j
        f["id"][ij] = 13 if j == 1 else -13
        f["mother1"][ij] = 0
        f["px"][ij], f["py"][ij], f["pz"][ij] = lab[:, 0], lab[:, 1], lab[:, 2]
        f["m"][ij] = M_MU
        f["e"][ij] = np.sqrt(np.sum(lab**2, axis=1) + M_MU**2)
        f["vx"][ij], f["vy"][ij], f["vz"][ij] = r * np.cos(ph), r * np.sin(ph), z
    return Collection.from_counts(np.full(n, 3, np.int64), f)


def default_stage(with_detector: bool = False) -> tuple[Any, Any]:
    """(trigger stage, detector stage or None) of the shipped ``belle2_run1`` card."""
    from fastsim.cards import builtin_cards_dir, load_card
    from fastsim.particles import ParticleTable
    from fastsim.trigger.menu import TriggerStage

    card = dict(load_card(builtin_cards_dir() / "belle2_run1.yaml"))
    table = ParticleTable()
    det = None
    if with_detector:
        from fastsim.detector.simulate import DetectorStage

        det = DetectorStage(card["detector"], table)
    return TriggerStage(card, table), det


def run_on(mc: Collection, trig: Any, det: Any, seed: int) -> EventBatch:
    """Detector (optional) and trigger stages on an MC record."""
    batch = EventBatch(mc.n_events, {}, {"mc": mc})
    rng = np.random.default_rng(seed)
    if det is not None:
        batch = det(batch, rng)
    return trig(batch, rng)


def stt_efficiency(
    trig: Any, edges: np.ndarray, variable: str, n_per_bin: int, seed: int, **fixed: float
) -> np.ndarray:
    """STT efficiency of single prompt muons in bins of ``variable`` ("z0" cm or "p" GeV);
    the other is fixed (``p`` default 2 GeV, ``z0`` default 0), theta uniform in cos over
    45-120 deg (the 2D finder's full acceptance), phi uniform."""
    rng = np.random.default_rng(seed)
    nb = len(edges) - 1
    n = nb * n_per_bin
    lo, hi = np.repeat(edges[:-1], n_per_bin), np.repeat(edges[1:], n_per_bin)
    val = rng.uniform(lo, hi)
    p = val if variable == "p" else np.full(n, fixed.get("p", 2.0))
    z0 = val if variable == "z0" else np.full(n, fixed.get("z0", 0.0))
    th = np.arccos(rng.uniform(math.cos(math.radians(120)), math.cos(math.radians(45)), n))
    mc = gun_mc(rng.choice([13, -13], n), p, th, rng.uniform(-np.pi, np.pi, n), z0)
    out = run_on(mc, trig, None, seed + 1)
    return out.events["trg_stt"].reshape(nb, n_per_bin).mean(axis=1)


def z_resolution(trig: Any, n: int, seed: int) -> tuple[float, float]:
    """(core sigma of z_nn - z0 [cm], fraction of tracks with a neural output) for prompt
    muons, p 0.5-5 GeV, theta 35-125 deg, z0 = 0, through the full stage."""
    from fastsim.trigger.train_neuro import core_sigma

    rng = np.random.default_rng(seed)
    p = rng.uniform(0.5, 5.0, n)
    th = np.arccos(rng.uniform(math.cos(math.radians(125)), math.cos(math.radians(35)), n))
    mc = gun_mc(rng.choice([13, -13], n), p, th, rng.uniform(-np.pi, np.pi, n), np.zeros(n))
    out = run_on(mc, trig, None, seed + 1)
    tt = out["trg_tracks"]
    return core_sigma(tt["z_nn"][tt["has_nn"]].astype(np.float64)), float(tt["has_nn"].sum() / n)


def _main() -> None:
    trig, det = default_stage(with_detector=True)
    sig, frac = z_resolution(trig, 20000, 1)
    print(f"z resolution (core sigma): {sig:.2f} cm, neural fraction {frac:.3f}")
    ez = np.array([-60, -40, -30, -20, -15, -10, -5, 0, 5, 10, 15, 20, 30, 40, 60], float)
    eff = stt_efficiency(trig, ez, "z0", 4000, 2)
    print("| z0 bin [cm] | STT efficiency |")
    for a, b, e in zip(ez[:-1], ez[1:], eff, strict=True):
        print(f"| {a:+.0f} .. {b:+.0f} | {e:.3f} |")
    ep = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0, 1.5, 3.0, 5.0])
    eff = stt_efficiency(trig, ep, "p", 4000, 3)
    print("| p bin [GeV] | STT efficiency |")
    for a, b, e in zip(ep[:-1], ep[1:], eff, strict=True):
        print(f"| {a:.2f} .. {b:.2f} | {e:.3f} |")
    rng = np.random.default_rng(4)
    print("| r [cm] | z [cm] | ffo | y (neural) | stt | triggered |")
    for z in (0.0, 30.0):
        for r in (1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 45.0, 50.0, 60.0, 80.0, 100.0):
            mc = llp_mc(np.full(3000, r), np.full(3000, z), 1.0, 3.0, rng)
            ev = run_on(mc, trig, det, 5).events
            print(f"| {r:.0f} | {z:.0f} | {ev['trg_ffo'].mean():.3f} | {ev['trg_y'].mean():.3f} "
                  f"| {ev['trg_stt'].mean():.3f} | {ev['triggered'].mean():.3f} |")  # fmt: skip


if __name__ == "__main__":
    _main()
