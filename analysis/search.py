"""What a search is: the interface every search module in ``analysis/`` implements.

A search declares

* ``name`` (the ``fastsim analyze NAME`` and the registry key), ``title``, ``reference``
  (the paper it follows) and ``channel`` (the reaction, for HEPData);
* ``models``: the names of the models (:data:`fastsim.models.MODELS`) whose signal points it
  interprets;
* :meth:`Search.select`: the selection, vectorised over one batch of events, returning per
  selected event the candidates' observable values and the truth-matched value;
* ``region``: its signal regions, :class:`MassWindows` (a peak search: windows of +-k sigma(m)
  from a resolution model measured on the signal, scanned in mass) or :class:`Categories`
  (disjoint bins, combined in one likelihood);
* ``statistics``: default statistical settings (:class:`Statistics`).

Everything else (classifying files into signal points and backgrounds from ``/meta``,
yields, efficiencies with errors, background estimates, limits, the coupling interpretation
through the model, luminosity projections, plots, HEPData, ``summary.json``) is the shared
layer's (:mod:`analysis.samples`, :mod:`analysis.interpretation`, :mod:`analysis.cli`), the
same for every search.  A new search is one file with one :class:`Search` subclass and one
line in :data:`analysis.SEARCHES`.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fastsim.events import EventBatch

__all__ = ["Categories", "MassWindows", "Search", "Selected", "Statistics"]


@dataclass
class Selected:
    """The selected events of one batch.

    ``index``: event indices in the batch (n,); ``observable``: (n, k) values of the observable
    for the event's k candidates (GeV for a mass; the category index for :class:`Categories`),
    NaN where a candidate fails; ``truth``: (n,) the observable of the candidate built from the
    signal particle's own daughters, NaN when there is none (backgrounds, unmatched events).
    """

    index: np.ndarray
    observable: np.ndarray
    truth: np.ndarray

    def __post_init__(self) -> None:
        self.observable = np.asarray(self.observable, np.float64)
        if self.observable.ndim == 1:
            self.observable = self.observable[:, None]
        self.index = np.asarray(self.index, np.int64)
        self.truth = np.asarray(self.truth, np.float64)


@dataclass(frozen=True)
class MassWindows:
    """A peak search: at mass m the window m -+ k sigma(m), sigma from the signal resolution
    (:class:`analysis.scan.Resolution`), scan points one half-width apart; the background of a
    window from one ``smooth`` times wider (clipped at ``min_mass``), scaled by the width ratio;
    scan windows overlapping a ``vetoes`` interval are skipped."""

    k: float = 2.0
    smooth: float = 5.0
    min_mass: float = 0.0
    vetoes: tuple[tuple[float, float], ...] = ()
    scan: bool = True


@dataclass(frozen=True)
class Categories:
    """Disjoint event categories (bins): ``observable[:, 0]`` of a selected event is its category
    index; the limit combines the categories in one likelihood (one bin each, the model of
    ``pyhf.simplemodels.uncorrelated_background``: :func:`analysis.limits.category_limits`)."""

    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statistics:
    """Confidence level, method (:data:`analysis.limits.METHODS`) and the relative systematic
    uncertainty of the background estimate."""

    cl: float = 0.90
    method: str = "cls"
    rel_bkg_sys: float = 0.10


class Search:
    """Base class of a search (see the module docstring)."""

    name: ClassVar[str]
    title: ClassVar[str]
    reference: ClassVar[str] = ""
    channel: ClassVar[str] = ""
    observable_label: ClassVar[str] = "$m_X$ [GeV]"
    models: ClassVar[tuple[str, ...]]
    region: ClassVar[MassWindows | Categories] = MassWindows()
    statistics: ClassVar[Statistics] = Statistics()
    #: PDG ids of the signal particles in fastsim's own samples (external ones add theirs)
    signal_ids: ClassVar[tuple[int, ...]] = ()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        """The selection on one batch; ``signal_ids`` are the PDG ids of the signal particle
        (for the truth match)."""
        raise NotImplementedError

    def grid_selection(self, batch: EventBatch) -> np.ndarray:
        """Per-event mask of the selection without a signal-region cut (``grid.selection``)."""
        sel = self.select(batch, self.signal_ids)
        mask = np.zeros(batch.n_events, bool)
        mask[sel.index[np.any(np.isfinite(sel.observable), axis=1)]] = True
        return mask
