"""fersk on a real dask.distributed LocalCluster (2 worker processes): same results as locally."""

from __future__ import annotations

import os
import signal
import threading
import time

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")  # the test extra installs it

from fersk import ClarityBinner, ClipLandmarkExtractor, LandmarkExtractor  # noqa: E402
from fersk._core.cache import FeatureCache  # noqa: E402
from fersk._core.distributed import cluster  # noqa: E402
from fersk.datasets import make_sample_faces  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with cluster(n_workers=2, verbose=False) as client:
        client.wait_for_workers(2, timeout=120)
        yield client


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    data = make_sample_faces(n_subjects=3, n_intensities=2, blur_sigmas=(0.0,), out_dir=out)
    data.y = np.asarray(data.target_names)[data.target]
    return data


def test_landmarks_on_the_cluster_are_the_local_landmarks_bit_for_bit(client, faces):
    paths = list(faces.data) + ["/no/such/face.png"]
    local = LandmarkExtractor(68, detector="none", n_jobs=1)
    with joblib.parallel_config(backend="loky", n_jobs=1):
        expected = local.transform(paths)
    remote = LandmarkExtractor(68, detector="none")
    got = remote.transform(paths)  # inside cluster(): joblib's dask backend
    np.testing.assert_array_equal(got, expected)
    assert [(f.index, f.reason) for f in remote.failures_] == [(len(paths) - 1, "unreadable")]
    # The per-image work ran on the workers, which loaded the dlib model once each.
    loads = client.run(
        lambda: (
            __import__("fersk.landmarks.dlib_backend")
            .landmarks.dlib_backend._shape_predictor.cache_info()
            .misses
        )
    )
    assert sorted(loads.values()) == [1, 1]
    # Each worker process runs OpenCV on one thread: the workers are the parallelism.
    threads = client.run(lambda: __import__("cv2").getNumThreads())
    assert set(threads.values()) == {1}


def test_order_is_kept_when_later_tasks_finish_first(client):
    rng = np.random.default_rng(0)
    # Big images first: the first tasks take longest, the last ones come back first.
    images = [rng.integers(0, 255, (900, 900), dtype=np.uint8) for _ in range(8)]
    images += [rng.integers(0, 255, (20 + k, 20), dtype=np.uint8) for k in range(120)]
    expected = ClarityBinner(size=64).fit(images).transform(images)
    with joblib.parallel_config(backend="dask", n_jobs=-1):
        got = ClarityBinner(size=64).fit(images).transform(images)
    np.testing.assert_array_equal(got, expected)


def test_clips_and_cnn_inputs_on_the_cluster(client, faces):
    from fersk import CNNPreprocessor
    from fersk.io import read_image

    frames = [read_image(path) for path in faces.data[:6]]
    clips = [np.stack([x, np.roll(x, 2, axis=1)]) for x in frames]
    extractor = ClipLandmarkExtractor(LandmarkExtractor(5, detector="none"), n_frames=2)
    with joblib.parallel_config(backend="loky", n_jobs=1):
        expected = extractor.transform(clips)
        pixels = CNNPreprocessor(48).fit_transform(faces.data)
    np.testing.assert_array_equal(extractor.transform(clips), expected)
    np.testing.assert_array_equal(CNNPreprocessor(48).fit_transform(faces.data), pixels)


def test_a_search_on_the_cluster_routes_subjects_and_extracts_each_image_once(
    client, faces, tmp_path
):
    import sklearn
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from fersk.evaluation.metrics import SCORING
    from fersk.study import make_study_pipeline

    cache = tmp_path / "cache"
    pipe = make_study_pipeline(5, routed=False, detector="none", memory=str(cache))
    grid = {"clf__learning_rate_init": [1e-3, 1e-2]}

    def search(n_jobs):
        return GridSearchCV(
            pipe, grid, cv=GroupKFold(3), scoring=SCORING, refit="uar", n_jobs=n_jobs
        ).fit(np.array(faces.data, dtype=object), faces.y, groups=faces.subject)

    with sklearn.config_context(enable_metadata_routing=False):
        remote = search(-1)
    assert len(FeatureCache(cache)) == len(faces.data)  # each image extracted once, shared
    with joblib.parallel_config(backend="loky", n_jobs=1):
        local = search(1)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_uar"], local.cv_results_["mean_test_uar"]
    )
    np.testing.assert_array_equal(
        remote.predict(np.array(faces.data, dtype=object)),
        local.predict(np.array(faces.data, dtype=object)),
    )


def test_a_killed_worker_loses_no_row_and_the_rerun_resumes_from_the_cache(client, tmp_path):
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (600, 600), dtype=np.uint8) for _ in range(300)]
    cache = FeatureCache(tmp_path / "cache")
    with joblib.parallel_config(backend="loky", n_jobs=1):
        expected = ClarityBinner(size=600).fit(images).transform(images)
    victim = sorted(client.scheduler_info()["workers"])[0]
    victim_pid = client.run(os.getpid, workers=[victim])[victim]
    seen_at_kill = []

    def kill_midway():
        deadline = time.time() + 60
        while len(cache) < len(images) // 5 and time.time() < deadline:
            time.sleep(0.02)
        seen_at_kill.append(len(cache))
        os.kill(victim_pid, signal.SIGKILL)  # as the OOM killer or a lost machine would

    killer = threading.Thread(target=kill_midway)
    killer.start()
    binner = ClarityBinner(size=600, memory=cache)
    got = binner.fit(images).transform(images)  # dask reschedules the lost tasks
    killer.join()
    assert 0 < seen_at_kill[0] < len(images)  # the worker died in the middle of the run
    np.testing.assert_array_equal(got, expected)
    assert len(cache) == len(images)
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the killed worker
    assert victim_pid not in client.run(os.getpid).values()  # it really died
    # A rerun finds every image in the cache: nothing is computed again.
    mtimes = sorted(p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.npy"))
    again = ClarityBinner(size=600, memory=cache).fit(images).transform(images)
    np.testing.assert_array_equal(again, expected)
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.npy")) == mtimes


def test_an_fsspec_url_cache(client, faces):
    pytest.importorskip("fsspec")
    url = "memory://fersk-tests/cache"
    # The memory filesystem lives in each process: the workers' entries are theirs,
    # so this checks the URL round trip locally and that workers accept the URL.
    with joblib.parallel_config(backend="loky", n_jobs=1):
        first = LandmarkExtractor(5, detector="none", memory=url).transform(faces.data[:4])
        assert len(FeatureCache(url)) == 4
        again = LandmarkExtractor(5, detector="none", memory=url).transform(faces.data[:4])
    np.testing.assert_array_equal(first, again)
    remote = LandmarkExtractor(5, detector="none", memory=url).transform(faces.data[:4])
    np.testing.assert_array_equal(remote, first)


def test_the_cli_runs_extract_on_a_local_cluster(faces, tmp_path, capsys):
    from pathlib import Path

    from fersk.cli import main

    folder = Path(faces.data[0]).parents[1]  # <out>/<emotion>/<image>
    out = tmp_path / "lm.csv"
    code = main(
        [
            "extract", str(folder), "--out", str(out), "--detector", "none", "--n-landmarks", "5",
            "--n-workers", "2", "--cache", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Dask: 2 workers" in err
    assert len(out.read_text().splitlines()) == 1 + len(faces.data)
