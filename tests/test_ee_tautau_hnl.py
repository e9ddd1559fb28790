"""Issue #18, item 3: e+e- -> tau tau with one tau -> pi N (fastsim/generators/ee_tautau_hnl.py).

Independent numbers: the rate against the model's BR(tau -> pi N) times sigma(e+e- -> tau tau)
of the plain generator in the same run; the longitudinal spin correlation of the signal pi
with a partner tau -> pi nu, <cos1 cos2> in the taus' helicity frames, against the tau decay
engine's own pi nu pi nu events (the second method: both taus decayed by the engine), which
tests the partner's conditional polarisation; N's proper decay lengths against the model's
c*tau; N's decays against the model's branching fractions.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fastsim import kinematics
from fastsim.cards import load_card
from fastsim.generators.ee_tautau_hnl import analysing_power
from fastsim.io import open_events
from fastsim.models.hnl_tau import HNLTau
from fastsim.run import run
from tests.conftest import REPO

CARD = """
include: [{repo}/cards/detectors/belle.yaml, {repo}/cards/beams/kekb_y4s.yaml]
dataset: {{name: test, luminosity_fb: 711.0}}
run: {{seed: 9, events: 60000, chunk_size: 30000, output: {out}}}
detector: {{enabled: false}}
models:
  hnl_tau: {{mass: 1.0, coupling: 1.0e-3}}
processes:
  sig: {{generator: ee_tautau_hnl}}
  ref: {{generator: ee_tautau, events: 400000}}
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hnl")
    out = tmp / "hnl.h5"
    card = tmp / "hnl.yaml"
    card.write_text(CARD.format(repo=REPO, out=out))
    run(load_card(card), progress=False)
    return out


def test_rate_is_twice_the_branching_fraction(sample: Path) -> None:
    with open_events(sample) as f:
        procs = {p["name"]: p for p in f.meta["processes"]}
    br = HNLTau({"mass": 1.0, "coupling": 1e-3}).production()["tau- -> pi- N"]
    ratio = procs["sig"]["sigma_nb"] / procs["ref"]["sigma_nb"]
    rel = math.hypot(*(p["sigma_err_nb"] / p["sigma_nb"] for p in procs.values()))
    assert ratio == pytest.approx(2 * br, rel=max(3 * rel, 1e-3))
    assert procs["sig"]["model"]["signal_model"] == "hnl_majorana"  # the limits are per N nature


def _helicity_cosines(batch) -> tuple[np.ndarray, np.ndarray]:
    """Per pi from a tau with two daughters (pi nu or pi N): its event and cos theta* between
    the pi in the tau rest frame and the tau's flight in the CM frame."""
    mc = batch["mc"]
    ev = mc.event_index()
    base = mc.offsets[ev]
    p4 = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1)
    ids, mom = mc["id"], mc["mother1"]
    o = mc.offsets[:-1]
    cm = p4[o] + p4[o + 1]  # the beams
    mother = base + np.maximum(mom, 0)
    has = mom >= 0
    n_daughters = np.bincount(mother[has], minlength=len(ids))
    pi = np.flatnonzero((np.abs(ids) == 211) & has & (np.abs(ids[mother]) == 15))
    pi = pi[n_daughters[mother[pi]] == 2]
    tau = mother[pi]
    pi_cm = kinematics.boost_to_rest_frame(p4[pi], cm[ev[pi]])
    tau_cm = kinematics.boost_to_rest_frame(p4[tau], cm[ev[pi]])
    pi_star = kinematics.boost_to_rest_frame(pi_cm, tau_cm)
    cos = np.sum(pi_star[:, :3] * tau_cm[:, :3], axis=1) / (
        np.linalg.norm(pi_star[:, :3], axis=1) * np.linalg.norm(tau_cm[:, :3], axis=1)
    )
    return ev[pi], cos


def test_spin_correlation_with_the_partner_as_the_engine_has_it(sample: Path) -> None:
    """<cos1 cos2> of the pi pairs: signal (pi N x pi nu) vs the engine's pi nu x pi nu; the two
    agree when the partner gets the conditional polarisation (alpha(1 GeV) = 0.9999); without
    the correlation the signal would give 0."""
    with open_events(sample) as f:
        batch = f.read_events()
    pid = batch.events["process_id"]
    ev, cos = _helicity_cosines(batch)
    out = {}
    for p in (0, 1):
        e, c = ev[pid[ev] == p], cos[pid[ev] == p]
        _, inv, cnt = np.unique(e, return_inverse=True, return_counts=True)
        pair = cnt[inv] == 2
        c2 = c[pair][np.argsort(e[pair], kind="stable")].reshape(-1, 2)
        prod = c2[:, 0] * c2[:, 1]
        out[p] = (prod.mean(), prod.std() / math.sqrt(len(prod)))
    (s, ds), (r, dr) = out[0], out[1]
    alpha = analysing_power(1.77686, 0.13957, 1.0)
    assert s == pytest.approx(alpha * r, abs=3 * math.hypot(ds, dr))
    assert s > 5 * ds  # a real correlation (C_zz / 9 ~ 0.09)


def test_n_decays_by_the_model(sample: Path) -> None:
    """N's proper decay length has the model's c*tau (mean of Exp); its nu mu mu fraction the
    model's BR (both nu and nubar halves of the Majorana N)."""
    with open_events(sample) as f:
        mc = f.read_events()["mc"]
    point = HNLTau({"mass": 1.0, "coupling": 1e-3})
    n = np.flatnonzero(mc["id"] == point.particle.pdg)
    ct = mc["lifetime"][n]
    assert ct.mean() == pytest.approx(point.ctau_cm, rel=4 / math.sqrt(len(n)))
    ev = mc.event_index()
    mother = mc.offsets[ev] + np.maximum(mc["mother1"], 0)
    from_n = np.isin(mother, n) & (mc["mother1"] >= 0)
    n_mumu = np.sum(from_n & (mc["id"] == 13))
    br = sum(v for k, v in point.branching_fractions().items() if "mu- mu+" in k)
    assert n_mumu / len(n) == pytest.approx(br, abs=4 * math.sqrt(br / len(n)))
