"""ResumableCSV: resumed, repaired, refused when foreign, and written by one run at a time."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from fersk.io import CSVInUseError, ResumableCSV
from fersk.io.resumable import lock_path, settings_path

HEADER = ["path", "face_found", "x0"]
SETTINGS = {"command": "fersk extract", "n_landmarks": 5}


def table(path, settings=SETTINGS, header=HEADER) -> ResumableCSV:
    return ResumableCSV(path, header, settings, key="path", what="--out")


def rows_of(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def test_a_new_csv_gets_its_settings_and_header_then_resumes(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as first:
        assert first.done == set() and not first.has_header
        first.write_rows([["/a.png", 1, "1.5"], ["/b.png", 0, "nan"]])
    assert json.loads(settings_path(out).read_text()) == SETTINGS
    assert not lock_path(out).exists()  # the lock goes with the run
    with table(out) as second:
        assert second.done == {"/a.png", "/b.png"} and second.has_header
        second.write_rows([["/c.png", 1, "2.0"]])
    assert [r["path"] for r in rows_of(out)] == ["/a.png", "/b.png", "/c.png"]
    assert out.read_text().count("path,face_found") == 1


def test_odd_values_and_file_names_round_trip(tmp_path):
    out = tmp_path / "lm.csv"
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b'/bad\xff, "quoted".png')
    with table(out) as t:
        t.write_rows([[odd, 1, "a\nb"]])
    with table(out) as t:
        assert t.done == {odd}
    assert rows_of(out)[0]["x0"] == "a\nb"


def test_each_block_is_one_write(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as t:
        t.write_rows([])  # the header
        writes = []

        class Recorder:
            def write(self, data: bytes) -> int:
                writes.append(data)
                return len(data)

            def close(self) -> None:
                pass

        real, t._file = t._file, Recorder()
        t.write_rows([f"/{k}.png", 1, "0"] for k in range(500))
        t._file = real
    assert len(writes) == 1 and writes[0].count(b"\n") == 500


def test_a_torn_last_line_is_dropped_and_done_again(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as t:
        t.write_rows([["/a.png", 1, "1.5"], ["/b.png", 1, "2.5"]])
    text = out.read_bytes()
    out.write_bytes(text[:-6])  # killed in the middle of /b.png's row
    with table(out) as t:
        assert t.dropped_torn_line and t.done == {"/a.png"}
        t.write_rows([["/b.png", 1, "2.5"]])
    assert out.read_bytes() == text


def test_a_torn_header_is_written_again(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as t:
        t.write_rows([])
    out.write_text("path,face_found,x0")  # the header without its line break
    with table(out) as t:
        assert t.dropped_torn_line and not t.has_header and t.done == set()
        t.write_rows([["/a.png", 1, "1"]])
    assert out.read_text().splitlines() == ["path,face_found,x0", "/a.png,1,1"]


def test_a_foreign_csv_is_refused_and_kept(tmp_path):
    out = tmp_path / "mine.csv"
    out.write_text("name,score\nalice,3")  # no final line break: still not touched
    with pytest.raises(ValueError, match=r"--out '.*mine.csv' is not a `fersk extract` CSV"):
        table(out).__enter__()
    assert out.read_text() == "name,score\nalice,3"
    assert not lock_path(out).exists()


def test_other_settings_are_refused_naming_the_difference(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as t:
        t.write_rows([["/a.png", 1, "1"]])
    before = out.read_text()
    with pytest.raises(ValueError, match="n_landmarks=5 there, 68 now"):
        table(out, {**SETTINGS, "n_landmarks": 68}).__enter__()
    fewer = {k: v for k, v in SETTINGS.items() if k != "n_landmarks"}  # a key only there
    with pytest.raises(ValueError, match=r"settings \(n_landmarks=5 there, None now\)"):
        table(out, fewer).__enter__()
    with pytest.raises(ValueError, match="was written with other settings"):
        table(out, header=[*HEADER, "y0"]).__enter__()
    settings_path(out).unlink()
    with pytest.raises(ValueError, match="settings file .* is missing or unreadable"):
        table(out).__enter__()
    assert out.read_text() == before


def test_a_second_run_is_refused_while_the_first_writes(tmp_path):
    out = tmp_path / "lm.csv"
    with table(out) as first:
        first.write_rows([["/a.png", 1, "1"]])
        in_use = rf"--out '.*lm.csv' is being written by another run \(process {os.getpid()}\)"
        with pytest.raises(CSVInUseError, match=in_use):
            table(out).__enter__()
        first.write_rows([["/b.png", 1, "1"]])  # the first run goes on unharmed
    with table(out) as again:  # and once it is done, a rerun resumes
        assert again.done == {"/a.png", "/b.png"}


HOLDER = textwrap.dedent(
    """
    import sys
    from fersk.io import ResumableCSV
    with ResumableCSV(sys.argv[1], ["path", "face_found", "x0"],
                      {"command": "fersk extract", "n_landmarks": 5}, key="path") as t:
        t.write_rows([["/held.png", 1, "1"]])
        print("holding", flush=True)
        sys.stdin.readline()
    """
)


def test_the_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    out = tmp_path / "lm.csv"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(CSVInUseError, match=rf"\(process {holder.pid}\)"):
            table(out).__enter__()
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean exit: the lock file stays behind
        holder.wait(timeout=60)
    assert lock_path(out).exists()
    with table(out) as t:  # a kill frees the lock: the next run resumes
        assert t.done == {"/held.png"}
    assert not lock_path(out).exists()
