"""fersk._core.threads: limited_threads sets torch, OpenCV and BLAS to n threads, and gives
each its own setting back, also when the code inside raises."""

from __future__ import annotations

import os

import cv2
import pytest
import torch
from threadpoolctl import threadpool_info

from fersk._core.threads import cpu_count, limited_threads


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


@pytest.fixture()
def two_threads(monkeypatch):
    """Every library at 2 threads, OMP_NUM_THREADS unset; put back afterwards."""
    before = cv2.getNumThreads(), torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    cv2.setNumThreads(2)
    torch.set_num_threads(2)
    yield
    cv2.setNumThreads(before[0])
    torch.set_num_threads(before[1])


def test_inside_every_library_runs_n_threads_and_after_each_has_its_own_back(two_threads):
    blas = _blas_threads()
    with limited_threads(1) as n:
        assert n == 1
        assert cv2.getNumThreads() == 1 and torch.get_num_threads() == 1
        assert _blas_threads() == {1}
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
    assert cv2.getNumThreads() == 2 and torch.get_num_threads() == 2
    assert _blas_threads() == blas
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["MKL_NUM_THREADS"] == "7"


def test_the_settings_come_back_when_the_code_inside_raises(two_threads):
    with pytest.raises(RuntimeError, match="inside"):
        with limited_threads(1):
            raise RuntimeError("inside")
    assert cv2.getNumThreads() == 2 and torch.get_num_threads() == 2
    assert "OMP_NUM_THREADS" not in os.environ


def test_none_changes_nothing_and_minus_one_means_every_core(two_threads):
    with limited_threads(None) as n:
        assert n == cpu_count() and cv2.getNumThreads() == 2 and torch.get_num_threads() == 2
    with limited_threads(0) as n:
        assert n == cpu_count() and "OMP_NUM_THREADS" not in os.environ
    with limited_threads(-1) as n:
        assert n == cpu_count() == torch.get_num_threads()
        assert os.environ["OMP_NUM_THREADS"] == str(cpu_count())
    assert torch.get_num_threads() == 2


def test_cpu_count_is_this_process_affinity():
    assert cpu_count() == len(os.sched_getaffinity(0)) >= 1
