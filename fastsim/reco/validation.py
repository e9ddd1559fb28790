"""Hand-built MC samples for validating the reconstruction (tests, benchmarks, docs/reco.md).

Units: GeV, cm, ns.  Each builder returns an MC record (:data:`fastsim.events.MC_FIELDS`)
that the detector stage can simulate; kinematics from :mod:`fastsim.kinematics` (two-body
and flat n-body phase space in the CM frame, PDG "Kinematics" 49.4) taken to the lab with
:func:`fastsim.beams.cm_to_lab` and the nominal beams.  Masses come from the particle table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fastsim import kinematics
from fastsim.beams import BeamSetup, cm_to_lab
from fastsim.events import MC_FIELDS, STATUS_DECAYED, STATUS_FINAL, Collection
from fastsim.particles import ParticleTable

__all__ = [
    "DISPLACED_RADII",
    "SCALAR_PDG",
    "displaced_pair_sample",
    "displaced_vertex_efficiency",
    "invisible_recoil_sample",
    "k0s_sample",
    "mumu_gamma_sample",
    "shipped_card",
    "synthetic_helix_pairs",
]

#: PDG id used for the long-lived scalar (unknown to the particle table: invisible to the detector)
SCALAR_PDG = 9000006
_INVISIBLE_PDG = 9000007


def shipped_card(detector: str = "belle2", beam: str = "superkekb_y4s") -> dict[str, Any]:
    """A validated card dict with the shipped detector and beam presets (no processes)."""
    from fastsim.cards import BEAM_SCHEMA
    from fastsim.detector.card import DETECTOR_SCHEMA

    root = Path(__file__).resolve().parent.parent.parent / "cards"
    det = yaml.safe_load((root / "detectors" / f"{detector}.yaml").read_text())["detector"]
    bm = yaml.safe_load((root / "beams" / f"{beam}.yaml").read_text())["beam"]
    return {
        "detector": DETECTOR_SCHEMA.validate(det, ("detector",), lambda _p: None),
        "beam": BEAM_SCHEMA.validate(bm, ("beam",), lambda _p: None),
    }


def _record(
    ids: list[int], status: list[int], mother1: list[int], p4: np.ndarray, mass: np.ndarray, vtx: np.ndarray
) -> Collection:
    """Regular record: k particles per event with lab (n, k, 4), masses (n, k), vertices (n, k, 3)."""
    n, k, _ = p4.shape
    f = {name: np.zeros((n, k), dt) for name, dt in MC_FIELDS.items()}
    f["id"][:] = ids
    f["status"][:] = status
    f["mother1"][:] = mother1
    f["mother2"][:] = -1
    f["daughter1"][:] = -1
    f["daughter2"][:] = -1
    for i, name in enumerate(("px", "py", "pz", "e")):
        f[name] = p4[:, :, i]
    f["m"] = mass
    for i, name in enumerate(("vx", "vy", "vz")):
        f[name] = vtx[:, :, i]
    return Collection.from_regular(f)


def displaced_pair_sample(
    n: int,
    radius: float,
    parent_mass: float,
    daughter_pdg: int,
    beams: BeamSetup,
    particles: ParticleTable,
    rng: np.random.Generator,
) -> Collection:
    """e+e- -> S + invisible (massless), S isotropic in the CM, S -> d+ d- (``daughter_pdg``
    and its antiparticle) decaying at transverse distance ``radius`` (cm) from the beam line.
    Record per event: S (status 2), d, dbar (status 1, mother 0)."""
    her, ler = beams.nominal()
    sqrt_s = beams.sqrt_s
    # two-body momentum of S against a massless partner: (s - M^2) / (2 sqrt s)
    p_cm = (sqrt_s**2 - parent_mass**2) / (2 * sqrt_s)
    d = kinematics.isotropic_directions(n, rng)
    s_cm = np.concatenate([d * p_cm, np.full((n, 1), np.hypot(p_cm, parent_mass))], axis=1)
    s_lab = cm_to_lab(s_cm[:, None, :], np.repeat(her, n, 0), np.repeat(ler, n, 0))[:, 0]
    md = float(particles.mass(np.array([daughter_pdg]))[0])
    dau = kinematics.boost_to_frame_of(
        kinematics.two_body_decay(np.full(n, parent_mass), md, md, rng), s_lab, np.full(n, parent_mass)
    )
    pt = np.hypot(s_lab[:, 0], s_lab[:, 1])
    t = radius / pt  # decay point = t * p(S): transverse distance = radius
    vtx = np.zeros((n, 3, 3))
    for a in (1, 2):
        vtx[:, a, :] = s_lab[:, None, :3][:, 0] * t[:, None]
    p4 = np.concatenate([s_lab[:, None, :], dau], axis=1)
    mass = np.tile([parent_mass, md, md], (n, 1))
    rec = _record(
        [SCALAR_PDG, daughter_pdg, -daughter_pdg], [STATUS_DECAYED, 1, 1], [-1, 0, 0], p4, mass, vtx
    )
    rec.fields["daughter1"][0::3] = 1
    rec.fields["daughter2"][0::3] = 2
    return rec


def k0s_sample(n: int, particles: ParticleTable, rng: np.random.Generator) -> Collection:
    """One K_S0 per event from the origin, p uniform in 0.3-3 GeV, isotropic in the barrel
    (|cos theta| < 0.7), decayed to pi+ pi- by :func:`fastsim.decays.decay_particles` with the
    particle table's ctau (so the decay radii follow the K0S lifetime)."""
    from fastsim.decays import DecayTable, decay_particles

    m = float(particles.mass(np.array([310]))[0])
    p = rng.uniform(0.3, 3.0, n)
    cth = rng.uniform(-0.7, 0.7, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    sth = np.sqrt(1 - cth**2)
    p4 = np.stack([p * sth * np.cos(phi), p * sth * np.sin(phi), p * cth, np.hypot(p, m)], axis=1)[:, None, :]
    rec = _record([310], [STATUS_FINAL], [-1], p4, np.full((n, 1), m), np.zeros((n, 1, 3)))
    table = DecayTable({310: [(1.0, (211, -211))]})
    return decay_particles(rec, table, rng, particles, frozenset())


def _prompt(
    ids: list[int], masses: np.ndarray, beams: BeamSetup, n: int, rng: np.random.Generator
) -> Collection:
    her, ler = beams.nominal()
    p_cm = kinematics.n_body_phase_space(np.full(n, beams.sqrt_s), masses, rng)
    p_lab = cm_to_lab(p_cm, np.repeat(her, n, 0), np.repeat(ler, n, 0))
    k = len(ids)
    return _record(ids, [STATUS_FINAL] * k, [-1] * k, p_lab, np.tile(masses, (n, 1)), np.zeros((n, k, 3)))


def invisible_recoil_sample(
    n: int, m_invisible: float, beams: BeamSetup, particles: ParticleTable, rng: np.random.Generator
) -> Collection:
    """e+e- -> mu+ mu- X with X invisible of mass ``m_invisible`` (GeV), flat 3-body phase
    space in the CM (a Z'(-> nu nu) stand-in), nominal beams, from the origin."""
    m_mu = float(particles.mass(np.array([13]))[0])
    return _prompt([13, -13, _INVISIBLE_PDG], np.array([m_mu, m_mu, m_invisible]), beams, n, rng)


def mumu_gamma_sample(
    n: int, beams: BeamSetup, particles: ParticleTable, rng: np.random.Generator
) -> Collection:
    """e+e- -> mu+ mu- gamma, flat 3-body phase space in the CM (photons of all energies up
    to ~5 GeV for the conversion studies), nominal beams, from the origin."""
    m_mu = float(particles.mass(np.array([13]))[0])
    return _prompt([13, -13, 22], np.array([m_mu, m_mu, 0.0]), beams, n, rng)


#: transverse decay radii (cm) of the displaced-vertex efficiency study
DISPLACED_RADII = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0)


def displaced_vertex_efficiency(
    radii: tuple[float, ...] = DISPLACED_RADII, n: int = 800, seed: int = 31, mass: float = 1.0
) -> list[tuple[float, float, float]]:
    """(radius cm, displaced-vertex efficiency, fraction with both muons found) for a scalar of
    ``mass`` GeV decaying to mu+ mu- at fixed transverse radius, through the Belle II detector
    and reconstruction stages (efficiency = a selected vertex truth-matched to the scalar)."""
    from fastsim.detector.simulate import DetectorStage
    from fastsim.reco.stage import RecoStage

    card = shipped_card()
    table = ParticleTable()
    beams = BeamSetup.from_card(card["beam"])
    det, reco = DetectorStage(card["detector"], table), RecoStage(card, table)
    rows = []
    for i, r in enumerate(radii):
        mc = displaced_pair_sample(n, r, mass, 13, beams, table, np.random.default_rng(seed + i))
        out = det.simulate(mc, np.random.default_rng(seed + 100 + i))
        v, _c, _ev = reco.reconstruct(out["tracks"], out["clusters"], mc)
        tr = out["tracks"]
        mu = (np.abs(tr["true_pdg"]) == 13) & (tr["origin"] == 0)
        both = np.bincount(tr.event_index()[mu], minlength=n) >= 2
        sel = v["selected"] & (v["mc_index"] == 0)
        eff = np.mean(np.bincount(v.event_index()[sel], minlength=n) > 0)
        rows.append((r, float(eff), float(both.mean())))
    return rows


def synthetic_helix_pairs(
    n: int, radius: float | np.ndarray, rng: np.random.Generator, vz_sigma: float = 5.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two opposite-charge helices per vertex (transverse radius ``radius`` cm, z Gaussian with
    ``vz_sigma`` cm), from the detector's ``helix_params`` at 1.5 T, smeared with a fixed
    covariance (d0 15 um, phi0 1 mrad, 0.3% on omega, z0 25 um, tanLambda 1e-3, d0-phi0
    correlated).  Returns helices (2n, 5), covariances (2n, 5, 5), true vertices (n, 3).
    For vertex-fit tests and the fit benchmark."""
    from fastsim.detector.tracking import helix_params

    phi = rng.uniform(-np.pi, np.pi, n)
    vtx = np.stack([radius * np.cos(phi), radius * np.sin(phi), rng.normal(0, vz_sigma, n)], axis=1)
    hs, cs = [], []
    for q in (1, -1):
        p = rng.uniform(0.3, 3, n)
        th = np.arccos(rng.uniform(-0.7, 0.8, n))
        ph = phi + rng.normal(0, 0.4, n)
        mom = (p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th))
        h = np.stack(helix_params(vtx[:, 0], vtx[:, 1], vtx[:, 2], *mom, np.full(n, q), 1.5), axis=1)
        c = np.zeros((n, 5, 5))
        c[:, [0, 1, 3, 4], [0, 1, 3, 4]] = np.array([15e-4, 1e-3, 25e-4, 1e-3]) ** 2
        c[:, 2, 2] = (3e-3 * h[:, 2]) ** 2
        c[:, 0, 1] = c[:, 1, 0] = 0.5 * 15e-4 * 1e-3
        hs.append(h + np.einsum("nij,nj->ni", np.linalg.cholesky(c), rng.standard_normal((n, 5))))
        cs.append(c)
    return np.stack(hs, axis=1).reshape(2 * n, 5), np.stack(cs, axis=1).reshape(2 * n, 5, 5), vtx
