"""fersk._core.distributed: a cluster that cannot do the work ends the run in one clear error,
in bounded time, keeping what finished."""

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

import numpy as np
import pytest

pytest.importorskip("distributed")  # the test extra installs it

from fersk._core import distributed as fd  # noqa: E402
from fersk._core.cache import FeatureCache  # noqa: E402
from fersk._core.distributed import ClusterError, cluster  # noqa: E402


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
