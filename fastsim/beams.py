"""Beams: four-momenta with crossing angle and energy spread, the luminous region,
and the transformation between the centre-of-mass (CM) frame and the lab.

Conventions (as basf2 ``generators/scripts/beamparameters.py``): the lab z axis is the
solenoid axis; the high-energy ring (HER, electrons) moves along +z rotated by
``her.angle_x`` about y; the low-energy ring (LER, positrons) moves along -z, its
direction being at ``pi + ler.angle_x`` from +z (a negative angle turns it towards +x).
SuperKEKB: +41.5 / -41.5 mrad (83 mrad crossing); KEKB: HER at 22 mrad, LER along -z.

The CM frame used by fastsim (as basf2's): boost the lab along the total beam momentum
into the rest frame of the beams, then rotate so that the electron beam points along +z.
Generators produce final states in that frame; :func:`cm_to_lab` takes them to the lab.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fastsim import kinematics
from fastsim.particles import default_table

__all__ = ["BeamSetup", "cm_to_lab", "lab_to_cm"]

ELECTRON = 11


@dataclass(frozen=True)
class BeamSetup:
    """Beam energies (GeV), energy spreads (GeV), angles (rad) and luminous region (cm, ns)."""

    e_her: float
    e_ler: float
    spread_her: float
    spread_ler: float
    angle_her: float
    angle_ler: float
    spread: bool
    region_mean: tuple[float, float, float]
    region_sigma: tuple[float, float, float]
    corr_xz: float
    sigma_t: float

    @classmethod
    def from_card(cls, beam: dict[str, Any]) -> BeamSetup:
        lr = beam["luminous_region"]
        return cls(
            e_her=beam["her"]["energy"],
            e_ler=beam["ler"]["energy"],
            spread_her=beam["her"]["energy_spread"],
            spread_ler=beam["ler"]["energy_spread"],
            angle_her=beam["her"]["angle_x"],
            angle_ler=beam["ler"]["angle_x"],
            spread=beam["spread"],
            region_mean=(lr["x0"], lr["y0"], lr["z0"]),
            region_sigma=(lr["sigma_x"], lr["sigma_y"], lr["sigma_z"]),
            corr_xz=lr["corr_xz"],
            sigma_t=lr["sigma_t"],
        )

    # ------------------------------------------------------------------ beams
    def beam_four_momenta(self, e_her: np.ndarray, e_ler: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HER (e-) and LER (e+) four-momenta (n, 4) for given beam energies (GeV)."""
        m_e = float(default_table().mass(np.array([ELECTRON]))[0])
        p_her = np.sqrt(e_her**2 - m_e**2)
        p_ler = np.sqrt(e_ler**2 - m_e**2)
        her = np.empty((len(e_her), 4))
        her[:, 0] = p_her * np.sin(self.angle_her)
        her[:, 1] = 0.0
        her[:, 2] = p_her * np.cos(self.angle_her)
        her[:, 3] = e_her
        # LER direction: angle pi + angle_x from +z (basf2 convention)
        ler = np.empty((len(e_ler), 4))
        ler[:, 0] = p_ler * np.sin(np.pi + self.angle_ler)
        ler[:, 1] = 0.0
        ler[:, 2] = p_ler * np.cos(np.pi + self.angle_ler)
        ler[:, 3] = e_ler
        return her, ler

    def nominal(self) -> tuple[np.ndarray, np.ndarray]:
        """Nominal beam four-momenta, shape (1, 4) each."""
        return self.beam_four_momenta(np.array([self.e_her]), np.array([self.e_ler]))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Beam four-momenta (n, 4) with Gaussian energy spread (if enabled)."""
        if self.spread:
            e_her = self.e_her + self.spread_her * rng.standard_normal(n)
            e_ler = self.e_ler + self.spread_ler * rng.standard_normal(n)
        else:
            e_her = np.full(n, self.e_her)
            e_ler = np.full(n, self.e_ler)
        return self.beam_four_momenta(e_her, e_ler)

    @property
    def sqrt_s(self) -> float:
        """Nominal CM energy, GeV."""
        her, ler = self.nominal()
        return float(kinematics.invariant_mass(her + ler)[0])

    @property
    def boost_betagamma(self) -> np.ndarray:
        """Nominal beta*gamma vector (3,) of the CM frame in the lab."""
        her, ler = self.nominal()
        tot = (her + ler)[0]
        return tot[:3] / self.sqrt_s

    def sample_vertices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Interaction points (n, 4) = (x, y, z, t) in cm and ns from the luminous region.

        A 3-D Gaussian with the card's widths and x-z correlation (basf2 computes the
        same shape as the product of the two rotated Gaussian bunches), and a Gaussian
        collision time.
        """
        sx, sy, sz = self.region_sigma
        u = rng.standard_normal((n, 4))
        out = np.empty((n, 4))
        rho = self.corr_xz
        out[:, 0] = self.region_mean[0] + sx * u[:, 0]
        out[:, 1] = self.region_mean[1] + sy * u[:, 1]
        out[:, 2] = self.region_mean[2] + sz * (rho * u[:, 0] + np.sqrt(1.0 - rho * rho) * u[:, 2])
        out[:, 3] = self.sigma_t * u[:, 3]
        return out

    def describe(self) -> dict[str, Any]:
        """Nominal numbers for the file metadata and the run summary."""
        bg = self.boost_betagamma
        return {
            "e_her_gev": self.e_her,
            "e_ler_gev": self.e_ler,
            "angle_her_rad": self.angle_her,
            "angle_ler_rad": self.angle_ler,
            "spread_her_gev": self.spread_her,
            "spread_ler_gev": self.spread_ler,
            "sqrt_s_gev": self.sqrt_s,
            "boost_betagamma": [float(x) for x in bg],
        }


def _cm_frame(her: np.ndarray, ler: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total beam four-momentum (n,4) and the rotation (n,3,3) taking +z to the
    electron direction in the beams' rest frame."""
    total = her + ler
    her_rest = kinematics.boost_to_rest_frame(her, total)
    direction = her_rest[:, :3] / np.linalg.norm(her_rest[:, :3], axis=1)[:, None]
    return total, kinematics.rotation_z_to(direction)


def cm_to_lab(p4_cm: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """Four-vectors (n, k, 4) given in the CM frame (e- along +z) -> lab frame."""
    total, rot = _cm_frame(her, ler)
    n, k, _ = p4_cm.shape
    rotated = kinematics.rotate(p4_cm.reshape(n * k, 4), np.repeat(rot, k, axis=0)).reshape(n, k, 4)
    return kinematics.boost_to_frame_of(rotated, total)


def lab_to_cm(p4_lab: np.ndarray, her: np.ndarray, ler: np.ndarray) -> np.ndarray:
    """Four-vectors (n, k, 4) in the lab -> CM frame (e- along +z)."""
    total, rot = _cm_frame(her, ler)
    n, k, _ = p4_lab.shape
    rest = kinematics.boost_to_rest_frame(p4_lab.reshape(n * k, 4), np.repeat(total, k, axis=0))
    inv = np.transpose(rot, (0, 2, 1))
    return kinematics.rotate(rest, np.repeat(inv, k, axis=0)).reshape(n, k, 4)
