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


def _as_part(src: Path, dst: Path, seed: int | None) -> Path:
    """A copy of ``src`` as another part of its background sample: its card's run.seed set to
    ``seed`` (None: unchanged), its signal points hidden from the four-muon search (named as a
    model it does not interpret: they are in ``src``)."""
    import json

    import yaml

    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        if seed is not None:
            card = yaml.safe_load(f["meta"].attrs["card"])
            card["run"]["seed"] = seed
            f["meta"].attrs["card"] = yaml.safe_dump(card)
        procs = json.loads(f["meta"].attrs["processes"])
        for p in procs:
            if (p.get("model") or {}).get("signal_model"):
                p["model"] = {"signal_model": "dark_photon"}
        f["meta"].attrs["processes"] = json.dumps(procs)
    return dst


def test_parts_of_a_background_add_up_to_one_sample(sample: Path, tmp_path: Path) -> None:
    """A background simulated in two runs of one card with different seeds is one sample: the
    two parts (here the same events twice) give the background of one part, not twice it
    (each part's events carry w sigma L / sum_w over both parts); the same seed twice is refused."""
    one = _rows(analyze("zprime_4mu", [sample], 178.0, tmp_path / "one"))
    part = _as_part(sample, tmp_path / "part2.h5", seed=2)
    two = _rows(analyze("zprime_4mu", [sample, part], 178.0, tmp_path / "two"))
    assert len(one) == len(two) == 2
    for o, t in zip(one, two, strict=True):
        assert float(o["background"]) > 0
        assert float(t["background"]) == pytest.approx(float(o["background"]), rel=1e-9), o["mass_gev"]
        assert float(t["efficiency"]) == pytest.approx(float(o["efficiency"]), rel=1e-12)
    again = _as_part(sample, tmp_path / "again.h5", seed=None)
    with pytest.raises(ValueError, match="same card and seed"):
        analyze("zprime_4mu", [sample, again], 178.0, tmp_path / "x")
