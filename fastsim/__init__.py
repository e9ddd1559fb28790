"""fastsim: fast event generation and detector simulation for dark-sector searches at Belle and Belle II.

Units throughout: GeV, cm, ns; angles in radians.
"""

from __future__ import annotations

__version__ = "0.1.0"
