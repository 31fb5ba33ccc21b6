"""fersk._core.fit_progress: bars for fits that only print -- counted lines, passed-through lines,
restored state."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from sklearn.ensemble import VotingClassifier
from sklearn.neural_network import MLPClassifier

from fersk._core.fit_progress import MLP_EPOCH, MLP_QUIET, printed_progress, verbose_mlps


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_mlp_fit_is_counted_on_a_bar_and_other_lines_pass_through(capsys):
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=7, random_state=0)
    with verbose_mlps(mlp), printed_progress(MLP_EPOCH, desc="clf", drop=MLP_QUIET) as stream:
        mlp.fit(X, y)
        print("not an epoch")
    out, err = capsys.readouterr()
    assert stream.count == mlp.n_iter_ == 7
    assert out == "not an epoch\n" and "Iteration" not in out + err
    assert "clf: 7" in err  # the bar's last state
    assert mlp.verbose is False


def test_the_redirect_is_undone_when_the_fit_raises():
    before = __import__("sys").stdout
    with pytest.raises(RuntimeError, match="fit failed"), printed_progress(r"^x", desc="d"):
        print("x 1")
        raise RuntimeError("fit failed")
    assert __import__("sys").stdout is before


def test_no_stdout_at_all_swallows_lines_instead_of_recursing():
    with contextlib.redirect_stdout(None), printed_progress(r"^step", desc="d") as stream:
        print("step 1")
        print("hello")
    assert stream.count == 1


def test_partial_writes_make_one_line():
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), printed_progress(r"^step \d", desc="d") as s:
        print("st", end="", flush=True)
        print("ep 1")
        print("tail", end="")  # an unfinished last line still comes out
    assert s.count == 1 and buffer.getvalue() == "tail\n"


def test_verbose_mlps_gives_each_mlp_its_own_setting_back():
    loud, quiet = MLPClassifier(verbose=True), MLPClassifier()
    vote = VotingClassifier([("a", loud), ("b", quiet)])
    with verbose_mlps(vote) as n:
        assert n == 2 and loud.verbose and quiet.verbose
    assert loud.verbose is True and quiet.verbose is False
