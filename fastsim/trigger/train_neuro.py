"""Train the neural z-vertex trigger on fastsim's own simulated track segments.

Units: GeV, cm, ns, rad.

``python -m fastsim.trigger.train_neuro [--seed S] [--n-train N] [--epochs E] [--output PATH]``

Sample (deterministic from the seed): single charged tracks (mu+-) with p uniform in
0.25-5 GeV, cos(theta) uniform over 15-155 deg, phi uniform, z0 uniform in +-50 cm, and a
fraction ``displaced_fraction`` produced at a transverse radius uniform in 0-``r_max`` cm
(the published training uses z0 spread over +-50 cm so that the network also measures
tracks from outside the IP region, arXiv:2402.14962).  Each track goes through the TS
emulation (:mod:`fastsim.trigger.segments`) and the 2D finder
(:mod:`fastsim.trigger.finder2d`) with the Belle II detector card and the default trigger
card; tracks that make a 2D track with enough stereo TS are the training sample.
Targets: the true helix z0 (z at the point of closest approach to the beam axis) and the
polar angle theta = pi/2 - atan(tanLambda).

Training: full 27-81-2 network (tanh hidden, linear outputs), mean squared error of the
scaled outputs (z / 100 cm, theta - pi/2), minibatch Adam (Kingma & Ba, arXiv:1412.6980:
beta1 0.9, beta2 0.999, eps 1e-8) written here in numpy, Glorot-uniform initialisation,
learning rate decayed exponentially from 5e-3 to 5e-5 over the run; minibatch order and initial weights from
``numpy.random.default_rng(seed)``.  Output: ``<output>.npz`` and ``<output>.json`` (the
record: seed, sample, hyper-parameters, card numbers, validation resolution).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fastsim.trigger.card import default_trigger_card
from fastsim.trigger.finder2d import find_2d
from fastsim.trigger.neuro import DATA_DIR, MLP, N_HIDDEN, N_INPUT, Z_SCALE, nn_inputs
from fastsim.trigger.segments import SegmentGeometry, Segments, simulate_segments

__all__ = ["core_sigma", "evaluate", "load_geometry", "make_sample", "train"]

REPO = Path(__file__).resolve().parents[2]


def load_geometry(trigger: dict[str, Any] | None = None, detector: str = "belle2") -> SegmentGeometry:
    """The TS geometry of a shipped detector card with a (default) trigger section."""
    from fastsim.cards import builtin_cards_dir
    from fastsim.detector.card import DETECTOR_SCHEMA
    from fastsim.detector.geometry import Geometry

    raw = yaml.safe_load((builtin_cards_dir() / "detectors" / f"{detector}.yaml").read_text())["detector"]
    det = DETECTOR_SCHEMA.validate(raw, ("detector",), lambda _p: None)
    return SegmentGeometry.from_cards(Geometry.from_card(det), trigger or default_trigger_card())


def make_sample(
    n: int,
    seed: int,
    sg: SegmentGeometry,
    trigger: dict[str, Any] | None = None,
    z_range: float = 50.0,
    displaced_fraction: float = 0.3,
    r_max: float = 20.0,
) -> dict[str, np.ndarray]:
    """``n`` generated tracks through TS emulation and 2D finding; returns the accepted ones'
    inputs ``x`` (m, 27), targets ``y`` (m, 2, scaled), true ``z0``, ``theta``, ``p``,
    production radius ``r0``."""
    trg = trigger or default_trigger_card()
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.25, 5.0, n)
    cth = rng.uniform(math.cos(math.radians(155.0)), math.cos(math.radians(15.0)), n)
    sth = np.sqrt(1 - cth**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    q = rng.choice([-1.0, 1.0], n)
    disp = rng.random(n) < displaced_fraction
    r0 = np.where(disp, rng.uniform(0.0, r_max, n), 0.0)
    psi = rng.uniform(-np.pi, np.pi, n)
    z = rng.uniform(-z_range, z_range, n)
    seg = simulate_segments(
        sg, r0 * np.cos(psi), r0 * np.sin(psi), z,
        p * sth * np.cos(phi), p * sth * np.sin(phi), p * cth, q, np.full(n, np.inf),
        int(rng.integers(0, 2**63)),
    )  # fmt: skip
    return _accepted(seg, sg, trg, p, r0)


def _accepted(seg: Segments, sg: SegmentGeometry, trg: dict, p: np.ndarray, r0: np.ndarray) -> dict:
    f2 = find_2d(seg, sg, trg["finder2d"])
    idx = np.flatnonzero(f2["found"])
    x, ok = nn_inputs(seg, sg, idx, f2["w"][idx], f2["phi0"][idx], trg["neuro"]["min_stereo_segments"])
    idx, x = idx[ok], x[ok]
    z0 = seg.helix[idx, 3]
    theta = 0.5 * np.pi - np.arctan(seg.helix[idx, 4])
    y = np.stack([z0 / Z_SCALE, theta - 0.5 * np.pi], axis=1).astype(np.float32)
    return {"x": x, "y": y, "z0": z0, "theta": theta, "p": p[idx], "r0": r0[idx], "pt2d": f2["pt"][idx]}


def core_sigma(d: np.ndarray) -> float:
    """Core width of a residual distribution: 1.4826 x the median absolute deviation (the
    Gaussian sigma for a Gaussian core, insensitive to tails)."""
    d = d[np.isfinite(d)]
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def evaluate(mlp: MLP, sample: dict[str, np.ndarray]) -> dict[str, float]:
    """Resolutions on a sample: z core sigma for prompt tracks (r0 = 0) and all, theta sigma."""
    z, th = mlp.predict(sample["x"])
    prompt = sample["r0"] == 0
    return {
        "z_sigma_prompt_cm": core_sigma(z[prompt] - sample["z0"][prompt]),
        "z_sigma_all_cm": core_sigma(z - sample["z0"]),
        "z_bias_prompt_cm": float(np.median(z[prompt] - sample["z0"][prompt])),
        "theta_sigma_mrad": 1e3 * core_sigma(th - sample["theta"]),
        "n_tracks": len(z),
    }


def train(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    epochs: int,
    batch: int = 256,
    lr: float = 5e-3,
    lr_final: float = 5e-5,
) -> tuple[MLP, list[float]]:
    """Adam minibatch training of the 27-81-2 network; returns the network and the
    per-epoch training loss (mean squared error of the scaled outputs)."""
    rng = np.random.default_rng(seed)
    x = np.ascontiguousarray(x, np.float32)
    y = np.ascontiguousarray(y, np.float32)
    n = len(x)
    lim1 = math.sqrt(6.0 / (N_INPUT + N_HIDDEN))
    lim2 = math.sqrt(6.0 / (N_HIDDEN + 2))
    params = [
        rng.uniform(-lim1, lim1, (N_INPUT, N_HIDDEN)).astype(np.float32),
        np.zeros(N_HIDDEN, np.float32),
        rng.uniform(-lim2, lim2, (N_HIDDEN, 2)).astype(np.float32),
        np.zeros(2, np.float32),
    ]
    m = [np.zeros_like(a) for a in params]
    v = [np.zeros_like(a) for a in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    steps_per_epoch = max(n // batch, 1)
    total = epochs * steps_per_epoch
    step = 0
    losses = []
    for _epoch in range(epochs):
        order = rng.permutation(n)
        acc = 0.0
        for k in range(steps_per_epoch):
            sel = order[k * batch : (k + 1) * batch]
            xb, yb = x[sel], y[sel]
            w1, c1, w2, c2 = params
            h = np.tanh(xb @ w1 + c1)
            out = h @ w2 + c2
            err = out - yb
            acc += float(np.mean(err**2))
            g_out = (2.0 / err.size) * err
            g_w2 = h.T @ g_out
            g_c2 = g_out.sum(axis=0)
            g_h = (g_out @ w2.T) * (1.0 - h * h)
            g_w1 = xb.T @ g_h
            g_c1 = g_h.sum(axis=0)
            step += 1
            rate = lr * (lr_final / lr) ** (step / total)
            corr = math.sqrt(1 - b2**step) / (1 - b1**step)
            for i, g in enumerate((g_w1, g_c1, g_w2, g_c2)):
                m[i] *= b1
                m[i] += (1 - b1) * g
                v[i] *= b2
                v[i] += (1 - b2) * g * g
                params[i] -= (rate * corr) * m[i] / (np.sqrt(v[i]) + eps)
        losses.append(acc / steps_per_epoch)
    w1, c1, w2, c2 = params
    return MLP(w1.T, c1, w2.T, c2), losses


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line: build the sample, train, validate on an independent sample, save."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20240222)
    ap.add_argument("--n-train", type=int, default=800_000, help="generated training tracks")
    ap.add_argument("--n-valid", type=int, default=100_000, help="generated validation tracks")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--output", type=Path, default=DATA_DIR / "default.npz")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    trg = default_trigger_card()
    sg = load_geometry(trg)
    ss = np.random.SeedSequence(args.seed)
    s_train, s_valid, s_fit = (int(s.generate_state(1)[0]) for s in ss.spawn(3))
    sample_spec = {"z_range_cm": 50.0, "displaced_fraction": 0.3, "r_max_cm": 20.0, "particle": "mu+-",
                   "p_gev": [0.25, 5.0], "theta_deg": [15.0, 155.0]}  # fmt: skip
    train_set = make_sample(args.n_train, s_train, sg, trg)
    valid_set = make_sample(args.n_valid, s_valid, sg, trg)
    mlp, losses = train(train_set["x"], train_set["y"], s_fit, args.epochs, args.batch)
    metrics = evaluate(mlp, valid_set)
    mlp.record = {
        "script": "python -m fastsim.trigger.train_neuro",
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "layout": [N_INPUT, N_HIDDEN, 2],
        "sample": sample_spec,
        "n_train_tracks": len(train_set["x"]),
        "n_valid_tracks": len(valid_set["x"]),
        "optimizer": {"name": "adam", "batch": args.batch, "lr": [5e-3, 5e-5], "betas": [0.9, 0.999]},
        "loss_per_epoch": [round(v, 7) for v in losses],
        "validation": metrics,
        "detector_card": "belle2",
        "trigger_card": {k: trg[k] for k in ("cdc", "finder2d")},
        "min_stereo_segments": trg["neuro"]["min_stereo_segments"],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    mlp.save(args.output)
    print(f"saved {args.output}: validation {metrics}")
    return mlp.record


if __name__ == "__main__":
    main()
