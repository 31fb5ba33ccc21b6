"""fersk.io.resumed_csv: a run's resumable CSV has its header at once, says when it dropped a
torn line, and gives the inputs already done as absolute paths."""

from __future__ import annotations

import os

import pytest

from fersk.io import CSVInUseError, resumed_csv

SETTINGS = {"command": "count", "step": 1}


def test_a_new_csv_gets_its_header_and_a_rerun_knows_what_is_done(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    with resumed_csv(path, ["path", "n"], SETTINGS, key="path") as (table, done):
        assert done == set() and path.read_text().splitlines() == ["path,n"]
        table.write_rows([["/a.png", 1], ["b.png", 2]])
    monkeypatch.chdir(tmp_path)
    with resumed_csv(path, ["path", "n"], SETTINGS, key="path") as (table, done):
        assert done == {"/a.png", os.path.abspath("b.png")}
        with pytest.raises(CSVInUseError):  # one run at a time
            resumed_csv(path, ["path", "n"], SETTINGS, key="path").__enter__()


def test_a_torn_last_line_is_dropped_and_said(tmp_path):
    path = tmp_path / "rows.csv"
    with resumed_csv(path, ["path", "n"], SETTINGS, key="path") as (table, _):
        table.write_rows([["/a.png", 1]])
    with path.open("a") as handle:
        handle.write("/b.png,")  # a run killed mid-line
    said = []
    with resumed_csv(path, ["path", "n"], SETTINGS, key="path", say=said.append) as (_, done):
        assert done == {"/a.png"}
    assert said == [f"{path}: dropped a torn last line; its input is done again"]
    with pytest.raises(ValueError, match="--out .* other settings"):
        with resumed_csv(path, ["path", "n"], {**SETTINGS, "step": 2}, key="path", what="--out"):
            pass
