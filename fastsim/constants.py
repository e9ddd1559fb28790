"""Physical constants in fastsim units (GeV, cm, ns).

Values are CODATA 2018 through ``scipy.constants`` (the same values as PDG 2024,
"Physical constants" table), converted once here so that no module types them again.
"""

from __future__ import annotations

import math

from scipy import constants as _c

#: speed of light, cm/ns
C_CM_PER_NS: float = _c.c * 1e2 / 1e9
#: hbar, GeV*ns
HBAR_GEV_NS: float = _c.hbar / _c.e * 1e-9 * 1e9
#: hbar*c, GeV*cm
HBARC_GEV_CM: float = _c.hbar * _c.c / _c.e * 1e-9 * 1e2
#: (hbar*c)^2 in GeV^2 * nb: multiply a cross section in GeV^-2 by this to get nb
GEV2_TO_NB: float = (HBARC_GEV_CM**2) * 1e33
#: fine-structure constant at q^2 = 0
ALPHA_EM: float = _c.fine_structure
#: Fermi constant, GeV^-2 (PDG 2024)
G_FERMI: float = _c.physical_constants["Fermi coupling constant"][0]
#: sin^2 theta_W (MS-bar at M_Z, PDG 2024 "Electroweak model" review: 0.23121)
SIN2_THETA_W: float = 0.23121
#: 4*pi
FOUR_PI: float = 4.0 * math.pi
