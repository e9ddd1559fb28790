"""CDC track segments (TS) for the Level-1 trigger, from the true helix of each charged particle.

Units: GeV, cm, ns, rad.

A Belle II track segment is a group of wires spanning five layers of one superlayer around
a *priority* layer (the middle one); the TS finder reports the priority wire, its drift time
and a left/right (LR) flag from a lookup table.  Emulation per charged particle and
superlayer:

* the true helix (``propagation._helix`` from the production vertex) is crossed with the
  priority layer's radius (the closed form of ``propagation.arc_at_radius``), first
  crossing in path order after the production point and before the decay point (3-D path
  ``s3``); one asin per crossing, the crossing's direction, azimuth and angle follow from
  its sine without further trigonometric calls (a short series for tracks from the IP);
* the crossing must lie inside that layer's real z extent (detector card, basf2 CDC.xml);
* the TS is found with the card's per-superlayer efficiency;
* the wire: stereo wires are rotated, at height z a wire whose z = 0 azimuth is ``phi_k``
  sits at ``phi_k + z tan(stereo) / R``; the hit wire is the nearest one at the crossing z,
  its signed distance ``d`` (in r-phi) gives the drift time ``|d| cos(alpha) / v_drift``,
  smeared by the card's sigma (a unit-variance Irwin-Hall normal, sum of four uniforms;
  clipped at 0), and the LR flag ``sign(d)`` (correct, wrong or
  unknown = 0 with the card's fractions);
* alpha is the crossing angle between the track direction and the radial direction.

The record per (particle, superlayer): ``hit``, ``phi`` (true crossing azimuth), ``wire``,
``t_drift`` (ns), ``lr``, ``alpha`` (rad), ``z`` (true crossing z, for tests).

Randomness: the splitmix64 streams of :mod:`fastsim.detector.propagation` seeded from one
draw of the trigger's generator and the particle index (bit-reproducible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from fastsim.detector.geometry import KIND_CDC, Geometry
from fastsim.detector.propagation import _helix, _next, _seed
from fastsim.events import STATUS_DECAYED, STATUS_FINAL, Collection
from fastsim.trigger.fmath import asin, small_atan, wrap

__all__ = ["N_SL", "SegmentGeometry", "Segments", "select_charged", "simulate_segments"]

N_SL = 9
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
_TWO_PI = 2.0 * math.pi
_NEUTRINOS = (12, 14, 16)


@dataclass
class SegmentGeometry:
    """Per-superlayer numbers of the TS emulation (priority layer radius, z extent, wires...)."""

    radius: np.ndarray  # cm, priority layer
    z_min: np.ndarray
    z_max: np.ndarray
    axial: np.ndarray  # bool
    tan_stereo: np.ndarray
    n_wires: np.ndarray  # int64
    efficiency: np.ndarray
    bz: float  # T
    drift_velocity: float  # cm/ns
    drift_sigma: float  # ns
    lr_correct: float
    lr_wrong: float

    @classmethod
    def from_cards(cls, geom: Geometry, trg: dict[str, Any]) -> SegmentGeometry:
        """From the detector geometry and the validated ``trigger`` section."""
        cdc = trg["cdc"]
        is_cdc = geom.kind == KIND_CDC
        sl = geom.superlayer[is_cdc]
        idx = np.flatnonzero(is_cdc)
        if geom.n_superlayers != N_SL:
            msg = f"the trigger emulation needs {N_SL} CDC superlayers, the detector has {geom.n_superlayers}"
            raise ValueError(msg)
        prio = np.empty(N_SL, np.int64)
        for s in range(N_SL):
            layers = idx[sl == s]
            # priority layer: the middle of the five TS layers (3rd of 6; 4th of SL0's 8) [M]
            prio[s] = layers[len(layers) // 2 - 1]
        return cls(
            radius=geom.radius[prio].copy(),
            z_min=geom.z_min[prio].copy(),
            z_max=geom.z_max[prio].copy(),
            axial=geom.sl_axial.copy(),
            tan_stereo=np.tan(np.asarray(cdc["stereo_angle_mrad"], np.float64) * 1e-3),
            n_wires=np.asarray(cdc["wires"], np.int64),
            efficiency=np.asarray(cdc["segment_efficiency"], np.float64),
            bz=geom.bz,
            drift_velocity=float(cdc["drift_velocity"]),
            drift_sigma=float(cdc["drift_time_sigma"]),
            lr_correct=float(cdc["lr_correct"]),
            lr_wrong=float(cdc["lr_wrong"]),
        )

    @property
    def cell(self) -> np.ndarray:
        """Azimuthal wire pitch per superlayer (rad)."""
        return _TWO_PI / self.n_wires


@dataclass
class Segments:
    """TS records, arrays of shape (n_particles, 9), plus the true helix per particle."""

    hit: np.ndarray  # int8
    phi: np.ndarray  # rad, true crossing azimuth
    wire: np.ndarray  # int32, priority wire
    t_drift: np.ndarray  # ns, smeared
    lr: np.ndarray  # int8: +1 right, -1 left, 0 unknown
    alpha: np.ndarray  # rad, crossing angle
    z: np.ndarray  # cm, true crossing z
    helix: np.ndarray  # (n, 5): w [1/cm], phi0, d0 [cm], z0 [cm], tanLambda (true)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _segments_kernel(
    x, y, z, px, py, pz, q, s3, seed,
    radius, z_min, z_max, tan_st, n_wires, eff, bz, v_drift, sig_t, lr_ok, lr_bad,
    hit, phi_out, wire, tdr, lr, alpha, zc_out, helix,
):  # fmt: skip
    """Fills the zero-initialised records ``hit`` ... ``helix`` (the fields of
    :class:`Segments`, in that order) of the particles (x, y, z) [cm], (px, py, pz) [GeV]."""
    n = len(x)
    # per-superlayer constants: 1/R, wires per radian, wire pitch (cm), stereo shift per cm of z
    inv_r = 1.0 / radius
    per_rad = n_wires / _TWO_PI
    pitch = radius * (_TWO_PI / n_wires)
    shift = tan_st / radius
    inv_v = 1.0 / v_drift
    for i in range(n):
        pt = math.sqrt(px[i] * px[i] + py[i] * py[i])
        if pt < 1e-6:
            continue
        w, cp0, sp0, d0, z0, tanl, s0 = _helix(x[i], y[i], z[i], px[i], py[i], pz[i], q[i], bz)
        phi0 = math.atan2(sp0, cp0)
        helix[i, 0], helix[i, 1], helix[i, 2], helix[i, 3], helix[i, 4] = w, phi0, d0, z0, tanl
        sec = math.sqrt(1.0 + tanl * tanl)
        s_max = s0 + s3[i] / sec
        st = _seed(seed, i)
        inv_w = 1.0 / w
        f = inv_w - d0
        inv_1mwd0 = 1.0 / (1.0 - w * d0)
        for j in range(9):
            R = radius[j]
            if abs(d0) >= R:
                continue
            # arc length from the POCA to radius R on the outgoing half turn,
            # s_T = 2 asin(a) / w (propagation.arc_at_radius), keeping a = sin(w s_T / 2)
            num = (R * R - d0 * d0) * inv_1mwd0
            if num < 0.0:
                break  # larger radii are not reached either
            a = 0.5 * w * math.sqrt(num)
            if abs(a) > 1.0:
                break
            half = asin(a)  # w s_T / 2
            sT = 2.0 * half * inv_w
            if -sT > s0:
                s, half, sa = -sT, -half, -a
            elif sT > s0:
                s, sa = sT, a
            else:
                continue
            if s > s_max:
                continue
            zc = z0 + tanl * s
            if zc < z_min[j] or zc > z_max[j]:
                continue
            st, u = _next(st)
            if u >= eff[j]:
                continue
            # direction at the crossing, phi0 + w s = phi0 + 2 half, from sin(half) = sa without
            # trigonometric calls: sin(2A) = 2 sin A cos A and cos(2A) = 1 - 2 sin^2 A
            ca = math.sqrt(max(1.0 - sa * sa, 0.0))
            s2, c2 = 2.0 * sa * ca, 1.0 - 2.0 * sa * sa
            sph = sp0 * c2 + cp0 * s2
            cph = cp0 * c2 - sp0 * s2
            xc = -sp0 * f + sph * inv_w
            yc = cp0 * f - cph * inv_w
            cos_a = (xc * cph + yc * sph) * inv_r[j]
            # crossing azimuth: in the frame rotated by phi0 + half the crossing point is
            # (sa (2 / w - d0), -d0 ca); the first component has the sign of s (w d0 < 1 here:
            # a backward crossing, s < 0, lies half a turn round), so
            # pc = phi0 + half + dlt (+ pi when s < 0)
            sgn = 1.0 if s > 0.0 else -1.0
            dlt = small_atan(-sgn * d0 * ca, sgn * sa * (2.0 * inv_w - d0))
            back = 0.0 if s > 0.0 else math.pi
            pc = wrap(phi0 + half + dlt + back)
            # crossing angle: direction phi0 + 2 half minus position azimuth
            a_cross = wrap(half - dlt - back)
            uw = (pc - zc * shift[j]) * per_rad[j]  # in wire pitches
            kk = math.floor(uw + 0.5)
            d = (uw - kk) * pitch[j]  # signed r-phi distance to the wire, cm
            # wire index modulo n_wires (|pc| <= pi and the stereo shift is < 1 rad)
            k = int(kk)
            if k < 0:
                k += n_wires[j]
            elif k >= n_wires[j]:
                k -= n_wires[j]
            # drift-time smearing: Irwin-Hall normal (sum of 4 uniforms, unit variance, tails
            # cut at 3.46 sigma) -- cheaper than Box-Muller
            g1 = 0.0
            for _u in range(4):
                st, u = _next(st)
                g1 += u
            g1 = (g1 - 2.0) * 1.7320508075688772
            t = abs(d) * abs(cos_a) * inv_v + sig_t * g1
            st, u = _next(st)
            side = 1 if d >= 0.0 else -1
            if u < lr_ok:
                flag = side
            elif u < lr_ok + lr_bad:
                flag = -side
            else:
                flag = 0
            hit[i, j] = 1
            phi_out[i, j] = pc
            wire[i, j] = k
            tdr[i, j] = max(t, 0.0)
            lr[i, j] = flag
            alpha[i, j] = a_cross
            zc_out[i, j] = zc


def simulate_segments(
    sg: SegmentGeometry,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    q: np.ndarray,
    s3: np.ndarray,
    seed: int,
) -> Segments:
    """TS records of charged particles produced at (x, y, z) [cm] with momentum (px, py, pz)
    [GeV], charge q [e], travelling at most the 3-D path ``s3`` [cm] (inf: stable)."""
    f64 = lambda a: np.ascontiguousarray(a, np.float64)
    n = len(x)
    # allocated by numpy, not inside the kernel: numpy asks for transparent huge pages for
    # large arrays, which makes the first touch of these ~240 B/particle 3x cheaper
    out = Segments(
        hit=np.zeros((n, N_SL), np.int8),
        phi=np.zeros((n, N_SL), np.float32),
        wire=np.zeros((n, N_SL), np.int32),
        t_drift=np.zeros((n, N_SL), np.float32),
        lr=np.zeros((n, N_SL), np.int8),
        alpha=np.zeros((n, N_SL), np.float32),
        z=np.zeros((n, N_SL), np.float32),
        helix=np.zeros((n, 5)),
    )
    _segments_kernel(
        f64(x), f64(y), f64(z), f64(px), f64(py), f64(pz), f64(q), f64(s3), np.uint64(seed),
        sg.radius, sg.z_min, sg.z_max, sg.tan_stereo, sg.n_wires, sg.efficiency, sg.bz,
        sg.drift_velocity, sg.drift_sigma, sg.lr_correct, sg.lr_wrong,
        out.hit, out.phi, out.wire, out.t_drift, out.lr, out.alpha, out.z, out.helix,
    )  # fmt: skip
    return out


def select_charged(mc: Collection, particles: Any) -> dict[str, np.ndarray]:
    """The charged particles that leave a trajectory in the CDC: final-state ones and decayed
    ones up to the vertex of their first daughter.  Returns flat arrays (event index ``ev``,
    event-local ``mc`` index, ``x, y, z`` [cm], ``px, py, pz`` [GeV], ``q``, ``s3`` [cm])."""
    ids = mc["id"].astype(np.int64)
    status = mc["status"]
    known = particles.knows(ids)
    q = np.zeros(len(ids))
    q[known] = particles.charge(ids[known])
    final = (status == STATUS_FINAL) & ~np.isin(np.abs(ids), _NEUTRINOS)
    decayed = (status == STATUS_DECAYED) & (mc["daughter1"] >= 0)
    sel = np.flatnonzero((final | decayed) & (q != 0))
    ev = mc.event_index()[sel]
    s3 = np.full(len(sel), np.inf)
    dec = decayed[sel]
    if dec.any():
        d_global = mc.offsets[ev[dec]] + mc["daughter1"][sel][dec]
        s3[dec] = np.sqrt(
            (mc["vx"][d_global] - mc["vx"][sel][dec]) ** 2
            + (mc["vy"][d_global] - mc["vy"][sel][dec]) ** 2
            + (mc["vz"][d_global] - mc["vz"][sel][dec]) ** 2
        )
    return {
        "ev": ev,
        "mc": mc.local_index()[sel],
        "x": mc["vx"][sel],
        "y": mc["vy"][sel],
        "z": mc["vz"][sel],
        "px": mc["px"][sel],
        "py": mc["py"][sel],
        "pz": mc["pz"][sel],
        "q": q[sel],
        "s3": s3,
    }
