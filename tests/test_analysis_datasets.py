"""Combining data sets in one analysis (issue #23): `fastsim analyze` without --lumi takes each
file at its own data set's luminosity.  Independent check: the same events presented as two
data sets of L_A and L_B give the efficiencies, backgrounds and signal yields of one data set
of L_A + L_B (exactly), and a single file gives what --lumi with its luminosity gives."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import h5py
import pytest

from analysis.cli import analyze


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _as_dataset(src: Path, dst: Path, name: str, lumi: float) -> Path:
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        f["meta"].attrs["dataset"] = name
        f["meta"].attrs["luminosity_fb"] = lumi
    return dst


def test_a_single_file_at_its_own_luminosity_is_the_lumi_option(sample: Path, tmp_path: Path) -> None:
    a = _rows(analyze("zprime_4mu", [sample], None, tmp_path / "a"))
    b = _rows(analyze("zprime_4mu", [sample], 178.0, tmp_path / "b"))
    assert len(a) == len(b) == 2  # the sample's two signal points
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if k in ("model", "simulated") or x[k] in ("", "nan"):
                assert x[k] == y[k], k
            else:  # the event weights are rescaled (nb fb^-1): equal up to rounding
                assert float(x[k]) == pytest.approx(float(y[k]), rel=1e-9, abs=1e-300), k


def test_two_data_sets_add_up_to_one(sample: Path, tmp_path: Path) -> None:
    la, lb = 178.0, 300.0
    other = _as_dataset(sample, tmp_path / "b.h5", "test B", lb)
    comb = _rows(analyze("zprime_4mu", [sample, other], None, tmp_path / "comb"))
    one = _rows(analyze("zprime_4mu", [sample], la + lb, tmp_path / "one"))
    assert len(comb) == len(one) == 2
    for c, o in zip(comb, one, strict=True):
        assert (c["model"], c["mass_gev"]) == (o["model"], o["mass_gev"])
        for key in ("efficiency", "background", "sigma_bf_unit_coupling_fb"):
            assert float(c[key]) == pytest.approx(float(o[key]), rel=1e-9, abs=1e-12), key
        # the limits differ only through the background's Monte-Carlo variance: the same events
        # counted twice with weights L_A and L_B carry L_A^2 + L_B^2 < (L_A + L_B)^2 of it
        assert 0.5 < float(c["xsec_bf_ul_fb_expected"]) / float(o["xsec_bf_ul_fb_expected"]) <= 1.0


def test_a_signal_point_missing_in_one_data_set_is_an_error(sample: Path, tmp_path: Path) -> None:
    """Data set C holds only the backgrounds: the combined signal yield would miss C's share."""
    import json

    other = _as_dataset(sample, tmp_path / "c.h5", "test C", 50.0)
    with h5py.File(other, "r+") as f:
        procs = json.loads(f["meta"].attrs["processes"])
        for p in procs:
            p["model"] = {}
        f["meta"].attrs["processes"] = json.dumps(procs)
    with pytest.raises(ValueError, match="missing in data set"):
        analyze("zprime_4mu", [sample, other], None, tmp_path / "x")
