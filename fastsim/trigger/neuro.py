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
_N_HIDDEN_PAD = 96  # hidden nodes padded with zero weights to a multiple of 16 float32 SIMD lanes
T_SCALE = 256.0  # ns
PHI_CELLS = 4.0  # wire pitches
Z_SCALE = 100.0  # cm
_THETA_MIN = 1e-3  # rad, theta_nn is clipped to [_THETA_MIN, pi - _THETA_MIN]
DATA_DIR = Path(__file__).resolve().parent / "data"
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}
# tanh(x) ~ x (P0 + P1 x^2 + P2 x^4 + P3 x^6) / (1 + Q1 x^2 + Q2 x^4 + Q3 x^6), fitted here
_P0, _P1, _P2, _P3 = (np.float32(v) for v in (9.99978287e-01, 1.20494351e-01, 2.06427793e-03, 3.03134224e-06))
_Q1, _Q2, _Q3 = (np.float32(v) for v in (4.53762888e-01, 2.00432271e-02, 1.20373324e-04))


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _track_inputs(x, i, w, phi0, hit, wire, tdr, lr, radius, axial, n_wires):  # fmt: skip
    """Writes the 27 inputs of particle ``i``'s 2D track (curvature ``w`` [1/cm], direction
    ``phi0`` [rad]) into ``x`` (27,) float32; returns its number of stereo TS."""
    ns = 0
    for j in range(9):
        if not hit[i, j]:
            x[3 * j] = x[3 * j + 1] = x[3 * j + 2] = 0.0
            continue
        if not axial[j]:
            ns += 1
        R = radius[j]
        h = min(max(0.5 * w * R, -1.0), 1.0)
        a = asin(h)
        nw = n_wires[j]
        dphi = wrap(wire[i, j] * (2.0 * math.pi / nw) - phi0 - a)
        x[3 * j] = lr[i, j] * tdr[i, j] / T_SCALE
        x[3 * j + 1] = dphi * nw / (2.0 * math.pi * PHI_CELLS)
        x[3 * j + 2] = a * (2.0 / math.pi)
    return ns


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _forward(x, w1t, b1, w2, b2, h):  # fmt: skip
    """The two scaled outputs (float32) for one input row ``x`` (27,): tanh hidden layer,
    linear outputs; w1t (27, 96) the transposed first layer, b1 (96,), w2 (2, 96) -- hidden
    nodes padded with zeros; ``h`` (96,) scratch.

    The loop bounds are compile-time constants: the input loop is unrolled, the hidden-node
    loop vectorised with the sums held in registers (2x faster than accumulating a hidden
    row input by input)."""
    for k in range(_N_HIDDEN_PAD):
        acc = b1[k]
        for j in range(N_INPUT):
            acc += w1t[j, k] * x[j]
        h[k] = acc
    o0 = b2[0]
    o1 = b2[1]
    for k in range(_N_HIDDEN_PAD):
        # tanh by an odd rational approximation x P(x^2) / Q(x^2) (coefficients fitted for
        # this module by least squares on 0 <= x <= 9; max error 1.2e-5), no libm call;
        # a padding node has h = 0, tanh = 0 and zero output weights
        s = min(max(h[k], np.float32(-9.0)), np.float32(9.0))
        s2 = s * s
        num = s * (_P0 + s2 * (_P1 + s2 * (_P2 + s2 * _P3)))
        den = np.float32(1.0) + s2 * (_Q1 + s2 * (_Q2 + s2 * _Q3))
        a = min(max(num / den, np.float32(-1.0)), np.float32(1.0))
        o0 += w2[0, k] * a
        o1 += w2[1, k] * a
    return o0, o1


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _inputs_kernel(idx, hit, wire, tdr, lr, w, phi0, radius, axial, n_wires, min_stereo, x, ok):  # fmt: skip
    """Fills the inputs ``x`` (len(idx), 27) float32 of the 2D tracks ``idx`` and the flags
    ``ok`` (enough stereo TS)."""
    for t in range(len(idx)):
        ns = _track_inputs(x[t], idx[t], w[t], phi0[t], hit, wire, tdr, lr, radius, axial, n_wires)
        ok[t] = ns >= min_stereo


def nn_inputs(
    seg: Segments, sg: SegmentGeometry, idx: np.ndarray, w: np.ndarray, phi0: np.ndarray, min_stereo: int
) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of particles ``idx`` whose 2D tracks have curvature ``w`` (1/cm) and
    direction ``phi0`` (rad); returns (inputs (n, 27) float32, has-enough-stereo flags)."""
    x = np.empty((len(idx), N_INPUT), np.float32)
    ok = np.empty(len(idx), np.bool_)
    _inputs_kernel(
        np.ascontiguousarray(idx, np.int64), seg.hit, seg.wire, seg.t_drift, seg.lr,
        np.ascontiguousarray(w, np.float64), np.ascontiguousarray(phi0, np.float64),
        sg.radius, sg.axial, sg.n_wires, min_stereo, x, ok,
    )  # fmt: skip
    return x, ok


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _forward_kernel(x, w1t, b1, w2, b2, out):  # fmt: skip
    """Scaled outputs ``out`` (n, 2) for inputs x (n, 27) (see ``_forward``)."""
    h = np.empty(_N_HIDDEN_PAD, np.float32)
    for t in range(x.shape[0]):
        out[t, 0], out[t, 1] = _forward(x[t], w1t, b1, w2, b2, h)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def _neuro_kernel(
    idx, hit, wire, tdr, lr, w, phi0, radius, axial, n_wires, min_stereo, w1t, b1, w2, b2, ok, z, theta,
):  # fmt: skip
    """Inputs and inference per track in one pass, without an (n, 27) input array:
    ``ok`` (enough stereo TS), ``z`` (cm) and ``theta`` (rad), NaN without ``ok`` -- the
    numbers of ``MLP.predict(nn_inputs(...))``."""
    x = np.empty(N_INPUT, np.float32)
    h = np.empty(_N_HIDDEN_PAD, np.float32)
    for t in range(len(idx)):
        ns = _track_inputs(x, idx[t], w[t], phi0[t], hit, wire, tdr, lr, radius, axial, n_wires)
        ok[t] = ns >= min_stereo
        if not ok[t]:
            z[t] = theta[t] = np.nan
            continue
        o0, o1 = _forward(x, w1t, b1, w2, b2, h)
        z[t] = Z_SCALE * np.float64(o0)
        theta[t] = min(max(0.5 * math.pi + np.float64(o1), _THETA_MIN), math.pi - _THETA_MIN)


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
        if self.w1.shape != (N_HIDDEN, N_INPUT) or self.w2.shape != (2, N_HIDDEN):
            msg = f"a {N_INPUT}-{N_HIDDEN}-2 network is needed, got w1 {self.w1.shape}, w2 {self.w2.shape}"
            raise ValueError(msg)
        # the kernel's layout: first layer transposed, hidden nodes zero-padded
        self._w1t = np.zeros((N_INPUT, _N_HIDDEN_PAD), np.float32)
        self._w1t[:, :N_HIDDEN] = self.w1.T
        self._b1 = np.zeros(_N_HIDDEN_PAD, np.float32)
        self._b1[:N_HIDDEN] = self.b1
        self._w2 = np.zeros((2, _N_HIDDEN_PAD), np.float32)
        self._w2[:, :N_HIDDEN] = self.w2

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Scaled outputs (n, 2) for inputs (n, 27)."""
        out = np.empty((len(x), 2), np.float32)
        _forward_kernel(np.ascontiguousarray(x, np.float32), self._w1t, self._b1, self._w2, self.b2, out)
        return out

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_nn [cm], theta_nn [rad]) for inputs (n, 27)."""
        out = self.raw(x).astype(np.float64)
        return Z_SCALE * out[:, 0], np.clip(0.5 * np.pi + out[:, 1], _THETA_MIN, np.pi - _THETA_MIN)

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
    n = len(idx)
    ok = np.empty(n, np.bool_)
    z = np.empty(n)
    th = np.empty(n)
    _neuro_kernel(
        np.ascontiguousarray(idx, np.int64), seg.hit, seg.wire, seg.t_drift, seg.lr,
        np.ascontiguousarray(w, np.float64), np.ascontiguousarray(phi0, np.float64),
        sg.radius, sg.axial, sg.n_wires, min_stereo, mlp._w1t, mlp._b1, mlp._w2, mlp.b2, ok, z, th,
    )  # fmt: skip
    return {"has_nn": ok, "z_nn": z, "theta_nn": th}
