"""Searches: fastsim HDF5 files -> efficiencies -> limits, one module per search.

:data:`SEARCHES` maps a search's name (``fastsim analyze NAME``) to its class, one line per
search, imported on first use.  A search implements :class:`analysis.search.Search`; the
shared layer (samples, interpretation, projections, outputs) does the rest.
"""

from __future__ import annotations

from fastsim.registry import Registry

__all__ = ["SEARCHES"]

#: search name -> "module:class" (a new search: one file and one line here)
SEARCHES = Registry(
    "search",
    {
        "zprime_4mu": "analysis.zprime_4mu:ZPrime4Mu",
        "b2ks_llp": "analysis.b2ks_llp:B2KSLLP",
        "hnl_tau": "analysis.hnl_tau:HNLTauSearch",
        "phil_tautau": "analysis.phil_tautau:PhiLTauTau",
        "alp_3gamma": "analysis.alp_3gamma:ALP3Gamma",
        "darkphoton_ll": "analysis.darkphoton_ll:DarkPhotonLL",
        "darkphoton_invisible": "analysis.darkphoton_invisible:DarkPhotonInvisible",
    },
)
