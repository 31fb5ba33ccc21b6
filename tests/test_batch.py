import joblib
import numpy as np
import pandas as pd
import pytest

from fersk._core.batch import as_image_list, map_images
from fersk._core.cache import FeatureCache, resolve_cache
from fersk.features.clarity import LaplacianVariance


def test_as_image_list_accepts_the_usual_containers(face_crop):
    paths = ["a.png", "b.png"]
    assert as_image_list(paths) == paths
    assert as_image_list(np.array(paths)) == paths
    assert as_image_list(pd.Series(paths)) == paths
    assert as_image_list(pd.DataFrame({"path": paths})) == paths
    assert as_image_list(np.array(paths, dtype=object).reshape(-1, 1)) == paths
    assert len(as_image_list(np.stack([face_crop] * 3))) == 3
    assert len(as_image_list(iter([face_crop, face_crop]))) == 2


@pytest.mark.parametrize(
    "X, error, message",
    [
        ("a.png", TypeError, "single str"),
        (np.zeros((8, 8)), ValueError, "single image must be wrapped"),
        (pd.DataFrame({"a": [1], "b": [2]}), ValueError, "2 columns"),
        ([None], TypeError, r"X\[0\] is a NoneType"),
        (42, TypeError, "must be a sequence"),
    ],
)
def test_as_image_list_errors(X, error, message):
    with pytest.raises(error, match=message):
        as_image_list(X)


def test_map_images_keeps_order_across_chunks_and_workers(face_crop):
    # Distinct images whose score is known in advance: scaled copies of one face.
    images = [(face_crop * (k / 40)).astype(np.uint8) for k in range(1, 41)]
    expected = np.array([LaplacianVariance()(img)[0] for img in images])
    for n_jobs, chunk in ((1, 7), (2, 3)):
        rows, failures = map_images(LaplacianVariance(), images, n_jobs=n_jobs, chunk_size=chunk)
        np.testing.assert_array_equal(rows[:, 0], expected)
        assert failures == []


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
