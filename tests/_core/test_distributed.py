"""fersk._core.distributed: on a real cluster fersk gives the same results as locally; a cluster
that cannot do the work ends the run in one clear error, in bounded time, keeping what finished."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import joblib
import numpy as np
import pytest

pytest.importorskip("distributed")  # the test extra installs it

from fersk import ClarityBinner, ClipLandmarkExtractor, LandmarkExtractor  # noqa: E402
from fersk._core import distributed as fd  # noqa: E402
from fersk._core.cache import FeatureCache  # noqa: E402
from fersk._core.distributed import ClusterError, cluster  # noqa: E402
from fersk.datasets import make_sample_faces  # noqa: E402


@pytest.fixture()
def short_timeouts(monkeypatch):
    monkeypatch.setattr(fd, "CONNECT_TIMEOUT_S", 3.0)
    monkeypatch.setattr(fd, "NO_WORKER_TIMEOUT_S", 3.0)
    monkeypatch.setattr(fd, "WATCH_INTERVAL_S", 0.5)


def _listener(kind: str):
    """A local server that is no Dask scheduler; returns ``(address, close)``."""
    if kind == "http":
        handler = http.server.BaseHTTPRequestHandler
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        return f"tcp://127.0.0.1:{port}", lambda: (server.shutdown(), server.server_close())
    sock = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            accepted.append(conn)
            if kind == "banner":  # answers at once, in its own protocol
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    port = sock.getsockname()[1]
    return f"tcp://127.0.0.1:{port}", lambda: [c.close() for c in [*accepted, sock]]


@pytest.mark.bad_input("dask-not-a-scheduler")
@pytest.mark.parametrize("kind", ["http", "silent", "banner"])
def test_an_address_that_is_no_scheduler_fails_in_bounded_time(kind, short_timeouts):
    address, close = _listener(kind)
    start = time.monotonic()
    try:
        with pytest.raises(ClusterError, match=address) as caught:
            with cluster(address, verbose=False):
                pass
    finally:
        close()
    # before: "silent" and "http" hung forever; "banner" tried to allocate 3 EiB
    assert time.monotonic() - start < 3.0 + 6.0
    message = str(caught.value)
    assert "\n" not in message and "--scheduler" in message
    if kind == "banner":
        assert "is not a Dask scheduler" in message
    else:
        assert "no Dask scheduler answered" in message and "within 3 s" in message


@pytest.mark.bad_input("dask-not-a-scheduler")
def test_the_cli_says_it_in_one_line_and_touches_no_output(
    short_timeouts, tmp_path, capsys, face_crop
):
    import cv2

    from fersk.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "face.png"), face_crop)
    address, close = _listener("silent")
    out = tmp_path / "lm.csv"
    try:
        code = main(["extract", str(photos), "--out", str(out), "--scheduler", address])
    finally:
        close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no Dask scheduler answered" in err[0], err
    assert not out.exists()


# --------------------------------------------------------------------------
# A real scheduler and workers, in processes this test kills
# --------------------------------------------------------------------------


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # killed with its children, as a lost machine would be
    )


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(30)


@pytest.fixture()
def scheduler(tmp_path):
    """A scheduler and two single-thread workers (two: one runs joblib in the client)."""
    info = tmp_path / "scheduler.json"
    args = ["distributed.cli.dask_scheduler", "--port", "0", "--no-dashboard"]
    process = _start([*args, "--scheduler-file", str(info)])
    deadline = time.monotonic() + 60
    while not info.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # the file is written whole once the scheduler listens
    address = json.loads(info.read_text())["address"]
    options = ["--nthreads", "1", "--no-nanny", "--no-dashboard"]
    workers = [_start(["distributed.cli.dask_worker", address, *options]) for _ in range(2)]
    yield {"address": address, "process": process, "workers": workers}
    for child in [*workers, process]:
        _kill(child)


def _images(n: int = 4000):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (300, 300), dtype=np.uint8) for _ in range(n)]


def _run_and_kill(scheduler, victims, cache):
    """Score images on the cluster; kill ``victims`` once some are done. ``(error, seconds)``."""
    from fersk import ClarityBinner

    images = _images()
    binner = ClarityBinner(size=300, memory=cache, progress=False).fit(images[:20])
    killed = []

    def kill_midway():
        deadline = time.monotonic() + 60
        while len(cache) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        for victim in victims:
            _kill(victim)
        killed.append(time.monotonic())

    with pytest.raises(ClusterError) as caught:
        with cluster(scheduler["address"], verbose=False) as client:
            client.wait_for_workers(2, timeout=60)
            killer = threading.Thread(target=kill_midway, daemon=True)
            killer.start()
            binner.transform(images)  # before: waited forever once no worker was left
    killer.join()
    return caught.value, time.monotonic() - killed[0]


@pytest.mark.slow
@pytest.mark.bad_input("dask-no-workers")
def test_a_run_whose_workers_are_all_gone_fails_and_keeps_what_finished(
    scheduler, short_timeouts, tmp_path
):
    from fersk import ClarityBinner

    cache = FeatureCache(tmp_path / "cache")
    error, seconds = _run_and_kill(scheduler, scheduler["workers"], cache)
    assert "every Dask worker" in str(error) and "run again to resume" in str(error)
    assert seconds < 3.0 + 10.0
    done = len(cache)
    assert 200 <= done < 4000  # what finished before the workers died is kept
    # A rerun with new workers computes only the rest, and gets what a local run gets.
    options = ["--nthreads", "1", "--no-nanny", "--no-dashboard"]
    address = scheduler["address"]
    scheduler["workers"] += [
        _start(["distributed.cli.dask_worker", address, *options]) for _ in range(2)
    ]
    images = _images()
    binner = ClarityBinner(size=300, memory=cache, progress=False).fit(images[:20])
    with cluster(address, verbose=False) as client:
        client.wait_for_workers(2, timeout=60)
        again = binner.transform(images)
    expected = ClarityBinner(size=300, progress=False).fit(images[:20]).transform(images)
    np.testing.assert_array_equal(again, expected)
    assert len(cache) == 4000


@pytest.mark.slow
@pytest.mark.bad_input("dask-lost-scheduler")
def test_a_lost_scheduler_is_one_clear_error(scheduler, short_timeouts, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    error, seconds = _run_and_kill(scheduler, [scheduler["process"]], cache)
    assert "lost the connection to the Dask scheduler" in str(error)
    assert "\n" not in str(error) and seconds < 3.0 + 10.0
    assert len(cache) >= 200


@pytest.mark.slow
@pytest.mark.bad_input("dask-unguarded-script")
def test_a_script_without_the_main_guard_is_told_the_fix(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from fersk._core.distributed import cluster

            with cluster(n_workers=2, verbose=False):
                pass
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("fersk._core.distributed.ClusterError: the Dask worker processes")
    assert 'if __name__ == "__main__":' in last and "'spawn'" in last


# --------------------------------------------------------------------------
# A real LocalCluster (2 worker processes): the same results as locally
# --------------------------------------------------------------------------


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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_no_scheduler_and_no_workers_is_no_cluster(monkeypatch):
    started = []
    monkeypatch.setattr(fd, "cluster", lambda *args, **kwargs: started.append(args) or "cluster")
    with fd.optional_cluster() as client:
        assert client is None
    assert started == []
    assert fd.optional_cluster(n_workers=2) == "cluster" and started == [(None,)]
