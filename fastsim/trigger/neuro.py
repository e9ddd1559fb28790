"""Neural z-vertex trigger (Belle II "NNT"): a 27-81-2 multilayer perceptron.

Units: GeV, cm, ns, rad.

Layout as published (detector.md section 4.4; arXiv:2402.14962, design arXiv:1410.1395):
27 inputs, three per superlayer SL0..SL8, one hidden layer of 81 tanh nodes, two linear
outputs (z, theta).  The inputs of superlayer j, computed from its TS and the 2D track:

* ``lr * t_drift / T_SCALE`` -- the signed drift time (0 when the LR flag is unknown);
* the TS wire's azimuth (z = 0 position) minus the 2D track's azimuth at the priority
  radius, ``phi0 + asin(w R / 2)``, in units of ``PHI_CELLS`` wire pitches -- for the
  stereo superlayers this carries the z information (a stereo wire is displaced by
  ``z tan(stereo) / R`` in azimuth);
* the 2D track's crossing angle ``asin(w R / 2)`` scaled by 2/pi;

all three 0 when the superlayer has no TS.  Outputs: ``z_nn = Z_SCALE * out0`` (cm) and
``theta_nn = pi/2 + out1`` (rad).  The momentum of a neural track is ``pT_2D / sin(theta_nn)``.

One network serves all missing-stereo patterns (the published system uses five experts,
one per pattern; not reproduced here); a neural track needs at least the card's
``min_stereo_segments`` stereo TS.  Weights: ``fastsim/trigger/data/<name>.npz`` with a JSON
record ``<name>.json`` of how they were trained (:mod:`fastsim.trigger.train_neuro`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from fastsim.trigger.fmath import asin, wrap
from fastsim.trigger.segments import SegmentGeometry, Segments

__all__ = ["DATA_DIR", "MLP", "N_HIDDEN", "N_INPUT", "nn_inputs", "run_neuro"]

N_INPUT = 27
N_HIDDEN = 81
T_SCALE = 256.0  # ns
PHI_CELLS = 4.0  # wire pitches
Z_SCALE = 100.0  # cm
DATA_DIR = Path(__file__).resolve().parent / "data"
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
# tanh(x) ~ x (P0 + P1 x^2 + P2 x^4 + P3 x^6) / (1 + Q1 x^2 + Q2 x^4 + Q3 x^6), fitted here
_P0, _P1, _P2, _P3 = (np.float32(v) for v in (9.99978287e-01, 1.20494351e-01, 2.06427793e-03, 3.03134224e-06))
_Q1, _Q2, _Q3 = (np.float32(v) for v in (4.53762888e-01, 2.00432271e-02, 1.20373324e-04))


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _inputs_kernel(idx, hit, wire, tdr, lr, w, phi0, radius, axial, n_wires, min_stereo):  # fmt: skip
    """Inputs (len(idx), 27) float32 of the 2D tracks ``idx`` and a flag per track (enough
    stereo TS)."""
    n = len(idx)
    x = np.zeros((n, 27), np.float32)
    ok = np.zeros(n, np.bool_)
    for t in range(n):
        i = idx[t]
        ns = 0
        for j in range(9):
            if not hit[i, j]:
                continue
            if not axial[j]:
                ns += 1
            R = radius[j]
            h = min(max(0.5 * w[t] * R, -1.0), 1.0)
            a = asin(h)
            nw = n_wires[j]
            dphi = wrap(wire[i, j] * (2.0 * math.pi / nw) - phi0[t] - a)
            x[t, 3 * j] = lr[i, j] * tdr[i, j] / T_SCALE
            x[t, 3 * j + 1] = dphi * nw / (2.0 * math.pi * PHI_CELLS)
            x[t, 3 * j + 2] = a * (2.0 / math.pi)
        ok[t] = ns >= min_stereo
    return x, ok


def nn_inputs(
    seg: Segments, sg: SegmentGeometry, idx: np.ndarray, w: np.ndarray, phi0: np.ndarray, min_stereo: int
) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of particles ``idx`` whose 2D tracks have curvature ``w`` (1/cm) and
    direction ``phi0`` (rad); returns (inputs (n, 27) float32, has-enough-stereo flags)."""
    return _inputs_kernel(
        np.ascontiguousarray(idx, np.int64), seg.hit, seg.wire, seg.t_drift, seg.lr,
        np.ascontiguousarray(w, np.float64), np.ascontiguousarray(phi0, np.float64),
        sg.radius, sg.axial, sg.n_wires, min_stereo,
    )  # fmt: skip


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _forward_kernel(x, w1t, b1, w2, b2):  # fmt: skip
    """tanh hidden layer, linear outputs; x (n, 27), w1t (27, 81) (the transposed first
    layer, so that the inner loops run over the contiguous hidden nodes), w2 (2, 81)."""
    n = x.shape[0]
    ni, nh = w1t.shape
    out = np.zeros((n, 2), np.float32)
    h = np.empty(nh, np.float32)
    for t in range(n):
        h[:] = b1
        for j in range(ni):
            xj = x[t, j]
            if xj != 0:
                for k in range(nh):
                    h[k] += w1t[j, k] * xj
        o0 = b2[0]
        o1 = b2[1]
        for k in range(nh):
            # tanh by an odd rational approximation x P(x^2) / Q(x^2) (coefficients fitted for
            # this module by least squares on 0 <= x <= 9; max error 1.2e-5), no libm call
            s = min(max(h[k], np.float32(-9.0)), np.float32(9.0))
            s2 = s * s
            num = s * (_P0 + s2 * (_P1 + s2 * (_P2 + s2 * _P3)))
            den = np.float32(1.0) + s2 * (_Q1 + s2 * (_Q2 + s2 * _Q3))
            a = min(max(num / den, np.float32(-1.0)), np.float32(1.0))
            o0 += w2[0, k] * a
            o1 += w2[1, k] * a
        out[t, 0] = o0
        out[t, 1] = o1
    return out


@dataclass
class MLP:
    """Weights of the 27-81-2 network (float32) and the record of how they were made."""

    w1: np.ndarray  # (81, 27)
    b1: np.ndarray  # (81,)
    w2: np.ndarray  # (2, 81)
    b2: np.ndarray  # (2,)
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.w1 = np.ascontiguousarray(self.w1, np.float32)
        self.b1 = np.ascontiguousarray(self.b1, np.float32)
        self.w2 = np.ascontiguousarray(self.w2, np.float32)
        self.b2 = np.ascontiguousarray(self.b2, np.float32)
        self._w1t = np.ascontiguousarray(self.w1.T)

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Scaled outputs (n, 2) for inputs (n, 27)."""
        return _forward_kernel(np.ascontiguousarray(x, np.float32), self._w1t, self.b1, self.w2, self.b2)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_nn [cm], theta_nn [rad]) for inputs (n, 27)."""
        out = self.raw(x).astype(np.float64)
        return Z_SCALE * out[:, 0], np.clip(0.5 * np.pi + out[:, 1], 1e-3, np.pi - 1e-3)

    @classmethod
    def load(cls, name: str = "default") -> MLP:
        """Weights from ``fastsim/trigger/data/<name>.npz`` (or a path to an .npz file);
        the JSON record next to it is attached when present."""
        path = Path(name)
        if path.suffix != ".npz":
            path = DATA_DIR / f"{name}.npz"
        with np.load(path) as f:
            arrays = {k: f[k] for k in ("w1", "b1", "w2", "b2")}
        rec_path = path.with_suffix(".json")
        record = json.loads(rec_path.read_text()) if rec_path.is_file() else {}
        return cls(**arrays, record=record)

    def save(self, path: Path) -> None:
        """Write ``path`` (.npz) and its JSON record."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)
        path.with_suffix(".json").write_text(json.dumps(self.record, indent=2, sort_keys=True) + "\n")


def run_neuro(
    mlp: MLP,
    seg: Segments,
    sg: SegmentGeometry,
    idx: np.ndarray,
    w: np.ndarray,
    phi0: np.ndarray,
    min_stereo: int,
) -> dict[str, np.ndarray]:
    """Neural outputs of the 2D tracks ``idx``: ``has_nn`` (bool), ``z_nn`` (cm),
    ``theta_nn`` (rad); NaN where the track has too few stereo TS."""
    x, ok = nn_inputs(seg, sg, idx, w, phi0, min_stereo)
    z = np.full(len(idx), np.nan)
    th = np.full(len(idx), np.nan)
    if ok.any():
        z[ok], th[ok] = mlp.predict(x[ok])
    return {"has_nn": ok, "z_nn": z, "theta_nn": th}
