"""fersk._core.cache: the feature cache stores one vector per image and setting, and trusts
nothing it reads: a bad entry is a miss, recomputed and replaced."""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest

from fersk import ClarityBinner, LandmarkExtractor
from fersk._core.cache import CacheWarning, FeatureCache, resolve_cache
from fersk.features.clarity import LaplacianVariance


def test_feature_cache_roundtrip_and_memory_types(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("ns", "abcdef", np.arange(3.0))
    np.testing.assert_array_equal(cache.get("ns", "abcdef"), [0.0, 1.0, 2.0])
    assert cache.get("other", "abcdef") is None and len(cache) == 1
    (tmp_path / "ns" / "ab" / "abcdef.npy").write_bytes(b"garbage")  # a corrupt entry
    assert cache.get("ns", "abcdef") is None
    assert resolve_cache(str(tmp_path)).location == tmp_path
    assert resolve_cache(joblib.Memory(tmp_path, verbose=0)).location == tmp_path / "fersk"
    assert resolve_cache(joblib.Memory(None)) is None
    with pytest.raises(TypeError, match="memory must be"):
        resolve_cache(3)


def test_an_entry_is_replaced_whole_and_read_back_only_at_its_length(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    cache.put("landmarks", "abcdef", np.arange(4.0))
    cache.put("landmarks", "abcdef", np.array([7.0, 8.0]))  # replaces the first entry
    np.testing.assert_array_equal(cache.get("landmarks", "abcdef"), [7.0, 8.0])
    assert cache.get("landmarks", "abcdef", size=2).dtype == np.float64
    assert cache.get("landmarks", "abcdef", size=4) is None  # another setting's length
    assert cache.get("landmarks", "abcdee") is None and len(cache) == 1
    files = sorted(p.relative_to(tmp_path / "cache") for p in (tmp_path / "cache").rglob("*"))
    assert [str(f) for f in files] == ["landmarks", "landmarks/ab", "landmarks/ab/abcdef.npy"]
    # The all-NaN "no face" marker is an entry; a partly NaN vector is not.
    cache.put("landmarks", "nanana", np.full(3, np.nan))
    assert np.isnan(cache.get("landmarks", "nanana")).all()
    cache.put("landmarks", "partly", np.array([1.0, np.nan]))
    assert cache.get("landmarks", "partly") is None


def test_a_pickled_cache_is_the_same_folder(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("ns", "0123", np.ones(2))
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.location == tmp_path and repr(copy) == repr(cache)
    np.testing.assert_array_equal(copy.get("ns", "0123"), np.ones(2))


def test_a_url_cache_round_trips_through_fsspec():
    pytest.importorskip("fsspec")
    cache = FeatureCache("memory://fersk-test-cache/one")
    assert cache.url == "memory://fersk-test-cache/one"
    cache.put("ns", "abcd", np.array([1.5, 2.5]))
    np.testing.assert_array_equal(cache.get("ns", "abcd"), [1.5, 2.5])
    assert len(cache) == 1 and cache.get("ns", "abce") is None
    again = pickle.loads(pickle.dumps(cache))
    np.testing.assert_array_equal(again.get("ns", "abcd"), [1.5, 2.5])


def test_resolve_cache_passes_a_cache_through_and_refuses_what_names_no_folder(tmp_path):
    cache = FeatureCache(tmp_path)
    assert resolve_cache(cache) is cache and resolve_cache(None) is None
    with pytest.raises(ValueError, match="names no folder"):
        resolve_cache("")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file; the cache needs a folder"):
        resolve_cache(tmp_path / "notes.txt")


def test_a_cache_that_cannot_be_written_warns_and_leaves_no_temporary(tmp_path):
    (tmp_path / "ns").write_text("a file where the namespace folder goes")
    cache = FeatureCache(tmp_path)
    with pytest.warns(CacheWarning, match="cannot write to the feature cache"):
        cache.put("ns", "abcd", np.ones(2))
    assert cache.get("ns", "abcd") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ns"]


# --------------------------------------------------------------------------
# A bad entry is a miss, recomputed and replaced (bad input 1)
# --------------------------------------------------------------------------


def _corrupt(path: Path, kind: str, size: int) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "torn":
        buffer = io.BytesIO()
        np.save(buffer, np.ones(size))
        path.write_bytes(buffer.getvalue()[:-7])
    elif kind == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, a=np.ones(size))
    elif kind == "strings":
        with open(path, "wb") as fh:
            np.save(fh, np.array(["x"] * size))
    elif kind == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    elif kind in ("inf", "complex", "integer", "partly_nan", "wrong_shape", "2d"):
        value = {
            "inf": np.full(size, np.inf),
            "complex": np.ones(size, dtype=complex),
            "integer": np.ones(size, dtype=np.int64),
            "partly_nan": np.r_[np.nan, np.ones(size - 1)],
            "wrong_shape": np.ones(size + 1),
            "2d": np.ones((1, size)),
        }[kind]
        with open(path, "wb") as fh:
            np.save(fh, value)
    else:  # pragma: no cover
        raise ValueError(kind)


CORRUPTIONS = [
    "empty",
    "torn",
    "npz",
    "strings",
    "folder",
    "inf",
    "complex",
    "integer",
    "partly_nan",
    "wrong_shape",
    "2d",
]


@pytest.mark.bad_input("1")
@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_bad_cache_entry_is_a_miss_recomputed_and_replaced(kind, faces_dir, tmp_path):
    _, paths = faces_dir
    paths = paths[:3]
    for estimator, width in [
        (LandmarkExtractor(5, detector="none", memory=str(tmp_path / "lm")), 10),
        (ClarityBinner(n_levels=2, memory=str(tmp_path / "clarity")), 1),
    ]:
        cache_dir = Path(estimator.memory)
        expected = estimator.fit_transform(paths)
        entries = [p for p in cache_dir.rglob("*.npy") if p.is_file()]
        assert len(entries) == 3
        if kind == "partly_nan" and width == 1:
            continue  # one NaN of one is the all-NaN "no face" marker, which is trusted
        for entry in entries:
            _corrupt(entry, kind, width)
        again = estimator.fit_transform(paths)
        np.testing.assert_array_equal(again, expected)
        # Every entry was rewritten as a valid one.
        cache = FeatureCache(cache_dir)
        for entry in entries:
            assert entry.is_file()
            assert cache.get(entry.parent.parent.name, entry.stem) is not None


@pytest.mark.bad_input("1")
def test_bad_cache_entries_are_replaced_by_two_workers(faces_dir, tmp_path):
    _, paths = faces_dir
    paths = paths[:6]
    cache_dir = tmp_path / "cache"
    extractor = LandmarkExtractor(5, detector="none", memory=str(cache_dir), n_jobs=2)
    expected = extractor.transform(paths)
    entries = sorted(p for p in cache_dir.rglob("*.npy"))
    for entry, kind in zip(entries, ["empty", "npz", "folder", "strings", "partly_nan", "inf"]):
        _corrupt(entry, kind, 10)
    np.testing.assert_array_equal(extractor.transform(paths), expected)
    assert extractor.n_failures_ == 0


@pytest.mark.bad_input("1")
def test_the_no_face_marker_is_still_trusted(non_face, tmp_path):
    extractor = LandmarkExtractor(5, memory=str(tmp_path))
    extractor.transform([non_face])
    assert [f.message for f in extractor.failures_] == ["no face found"]
    extractor.transform([non_face])
    assert [f.message for f in extractor.failures_] == ["no face found (cached result)"]


@pytest.mark.bad_input("1")
def test_an_unwritable_cache_warns_and_computes(faces_dir, tmp_path):
    _, paths = faces_dir
    blocker = tmp_path / "cache"
    blocker.mkdir()
    namespace = LaplacianVariance().cache_namespace
    (blocker / namespace).write_text("a file where the namespace folder goes")
    with pytest.warns(UserWarning, match="cannot write to the feature cache"):
        out = ClarityBinner(memory=str(blocker)).fit_transform(paths[:3])
    assert out.shape == (3, 1) and np.isfinite(out).all()
