"""ROOT export (``fastsim convert FILE.h5 OUT.root``): every per-event field and every collection
field read back with uproot equals the HDF5 file's, the metadata string parses to ``/meta``,
chunked writing gives the same content, and bad inputs are refused with one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from fastsim.external.convert import convert
from fastsim.external.root import BRANCH_NAMES, branch_name, counter_name, write_root
from fastsim.io import FileFormatError, open_events
from tests.conftest import run_cli, write_card

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 11, events: 2000, chunk_size: 700, output: out.h5, workers: 1}
dataset: {name: test, luminosity_fb: 1.0}
processes:
  ee_mumu: {generator: ee_mumu}
  zp: {generator: ee_mumu_zprime, mass: 2.0, coupling: 0.001, events: 400}
"""


@pytest.fixture(scope="module")
def h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 e+e- -> mu mu and 400 Z' -> 4 mu events through detector, trigger and reco."""
    from fastsim.cards import load_card
    from fastsim.run import run

    tmp = tmp_path_factory.mktemp("root_export")
    card_path = write_card(tmp, CARD)
    out = tmp / "sample.h5"
    run(load_card(card_path), output=out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def root_file(h5: Path) -> Path:
    out = h5.with_name("sample.root")
    assert convert(h5, out) == out
    return out


def _tree(path: Path) -> dict[str, ak.Array]:
    with uproot.open(path) as f:
        tree = f["events"]
        return {k: tree[k].array(library="ak") for k in tree.keys()}  # noqa: SIM118 - a TTree, not a dict


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal dtype (byte order aside) and values, bit for bit (NaN-aware)."""
    got = np.ascontiguousarray(got).astype(got.dtype.newbyteorder("="))
    return got.dtype == want.dtype and np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_every_field_and_collection_round_trips(h5: Path, root_file: Path) -> None:
    assert not root_file.with_name(root_file.name + ".part").exists()
    branches = _tree(root_file)
    with open_events(h5) as f:
        assert len(f.collections) >= 7 and len(f.event_fields) >= 30
        batch = f.read_events()
    expected = set(batch.events)
    for name, want in batch.events.items():
        assert name in branches, name
        assert branches[name].ndim == 1
        assert _same(ak.to_numpy(branches[name]), want), name
    for cname, col in batch.collections.items():
        assert col.n_items > 0, cname  # the sample exercises every collection
        counts = col.counts()
        n = branches[counter_name(cname)]
        assert np.array_equal(ak.to_numpy(n), counts), cname
        expected.add(counter_name(cname))
        for field, want in col.fields.items():
            b = branch_name(cname, field)
            expected.add(b)
            got = branches[b]
            assert np.array_equal(ak.to_numpy(ak.num(got)), counts), b
            assert _same(ak.to_numpy(ak.flatten(got)), want), b
    # nothing else in the tree, and the documented names are used
    assert set(branches) == expected
    for b in ("tracks_tanLambda", "tracks_muonID", "tracks_kaonID", "mc_PDG", "mc_mcPX", "n_tracks"):
        assert b in branches, b
    assert "tracks_tanl" not in branches and "tracks_pid_mu" not in branches
    assert set(BRANCH_NAMES) <= set(batch.collections)
    # a spot check against the helix parameters and the generator record, by hand
    i = int(np.flatnonzero(batch["tracks"].counts() > 0)[0])
    ev = batch["tracks"].event(i)
    assert ak.to_list(branches["tracks_tanLambda"][i]) == ev["tanl"].tolist()
    assert ak.to_list(branches["mc_PDG"][i]) == batch["mc"].event(i)["id"].tolist()


def test_meta_string_is_the_files_metadata(h5: Path, root_file: Path) -> None:
    with uproot.open(root_file) as f:
        meta = json.loads(f["meta"])
        title = f["events"].title
    with open_events(h5) as g:
        assert meta == json.loads(json.dumps(g.meta))
        assert meta["processes"] == g.meta["processes"]
        assert [p["name"] for p in meta["processes"]] == ["ee_mumu", "zp"]
        assert meta["n_events"] == g.n_events == 2400
    assert "GeV, cm, ns" in title


def test_chunked_writing_gives_the_same_content(h5: Path, root_file: Path, tmp_path: Path) -> None:
    small = write_root(h5, tmp_path / "small.root", chunk_size=333)
    a, b = _tree(root_file), _tree(small)
    assert list(a) == list(b)
    for k in a:
        assert ak.array_equal(a[k], b[k], equal_nan=True, dtype_exact=True), k
    with uproot.open(small) as f:  # one basket per chunk: written chunk by chunk
        assert f["events"]["weight"].num_baskets == math.ceil(2400 / 333)
        assert json.loads(f["meta"]) == json.loads(uproot.open(root_file)["meta"])
    with pytest.raises(ValueError, match="chunk_size"):
        write_root(h5, tmp_path / "x.root", chunk_size=0)


def test_cli_convert_to_root(h5: Path, root_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.root"
    r = run_cli("convert", str(h5), str(out))
    assert r.returncode == 0, r.stderr
    assert out.exists() and not (tmp_path / "cli.root.part").exists()
    a, b = _tree(root_file), _tree(out)
    assert list(a) == list(b)
    assert all(ak.array_equal(a[k], b[k], equal_nan=True, dtype_exact=True) for k in a)


def test_bad_inputs_give_one_line_and_exit_2(h5: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    truncated = tmp_path / "truncated.h5"
    data = h5.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    for bad in (garbage, truncated):
        out = tmp_path / f"{bad.stem}.root"
        r = run_cli("convert", str(bad), str(out))
        assert r.returncode == 2, (bad, r.stderr)
        assert r.stderr.count("\n") == 1 and bad.name in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        assert not out.exists() and not out.with_name(out.name + ".part").exists()
        with pytest.raises(FileFormatError):
            convert(bad, out)
    # an unknown output suffix for a fastsim file
    r = run_cli("convert", str(h5), str(tmp_path / "out.xyz"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and ".root" in r.stderr, r.stderr
