"""fersk.io.outputs: outputs checked before any work, files and folders written beside the old
ones and moved into place only when whole, so a failed run destroys nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fersk.io import outputs
from fersk.io.outputs import AtomicFolder, AtomicOutput, check_output_path, swap_folder


def _folder(path: Path, **files: str) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def _contents(path: Path) -> dict:
    return {p.name: p.read_text() for p in sorted(path.iterdir())}


def test_an_output_that_is_a_folder_in_a_missing_folder_or_an_input_is_refused(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x")
    assert check_output_path(tmp_path / "out.csv", inputs=(data,)) == str(tmp_path / "out.csv")
    with pytest.raises(ValueError, match="--csv .* is a folder"):
        check_output_path(tmp_path, what="--csv")
    with pytest.raises(ValueError, match="folder .*missing.* does not exist"):
        check_output_path(tmp_path / "missing" / "out.csv")
    with pytest.raises(ValueError, match="empty path"):
        check_output_path("")
    (tmp_path / "link.csv").symlink_to(data)
    spellings = [data, str(data), tmp_path / "." / "data.csv", tmp_path / "link.csv"]
    for spelling in spellings:  # the same file, however it is named
        with pytest.raises(ValueError, match="is the input .*destroy the input"):
            check_output_path(spelling, inputs=("camera", 0, data), what="--out")
    assert data.read_text() == "x"


def test_a_file_is_replaced_only_when_its_writing_is_done(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="failed"):
        with AtomicOutput(path) as tmp:
            assert Path(tmp).parent == tmp_path and tmp.endswith(".partial.json")
            Path(tmp).write_text("half")
            raise RuntimeError("failed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]
    with AtomicOutput(path) as tmp:
        Path(tmp).write_text("new")
        assert path.read_text() == "old"  # not before the end
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["report.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's 0600


def test_commit_and_discard_end_an_output_by_hand(tmp_path):
    path = tmp_path / "rows.csv"
    output = AtomicOutput(path)
    tmp = output.__enter__()
    Path(tmp).write_text("rows")
    output.commit()
    assert path.read_text() == "rows" and not os.path.exists(tmp)
    other = AtomicOutput(path)
    Path(other.__enter__()).write_text("discarded")
    other.discard()
    assert path.read_text() == "rows" and os.listdir(tmp_path) == ["rows.csv"]


@pytest.mark.bad_input("3")
def test_atomic_output_keeps_the_old_file_on_ctrl_c_unless_asked(tmp_path):
    """A model or report interrupted mid-write never replaces the old one; resumable rows do."""
    path = tmp_path / "rows.csv"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with AtomicOutput(path) as tmp:
            Path(tmp).write_text("partial")
            raise KeyboardInterrupt
    assert path.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(KeyboardInterrupt):
        with AtomicOutput(path, keep_partial=True) as tmp:
            Path(tmp).write_text("partial but kept")
            raise KeyboardInterrupt
    assert path.read_text() == "partial but kept"


def test_the_old_folder_survives_a_failure_inside_the_block(tmp_path):
    model = _folder(tmp_path / "model", **{"model.json": "old", "model.npz": "old weights"})
    for error in (RuntimeError("training failed"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with AtomicFolder(model) as tmp:
                Path(tmp, "model.json").write_text("half")
                raise error
        assert _contents(model) == {"model.json": "old", "model.npz": "old weights"}
        assert os.listdir(tmp_path) == ["model"]  # no partial folder left


def test_a_finished_folder_replaces_the_old_one_whole(tmp_path):
    model = _folder(tmp_path / "model", **{"model.json": "old", "stale.txt": "from before"})
    with AtomicFolder(model) as tmp:
        assert Path(tmp).parent == tmp_path and Path(tmp).name.startswith(".model.partial-")
        Path(tmp, "model.json").write_text("new")
        assert _contents(model)["model.json"] == "old"  # not before the end
    assert _contents(model) == {"model.json": "new"}  # the stale file went with the old folder
    assert os.listdir(tmp_path) == ["model"]
    with AtomicFolder(tmp_path / "fresh") as tmp:
        Path(tmp, "a").write_text("a")
    assert _contents(tmp_path / "fresh") == {"a": "a"}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_swap_folder_puts_the_new_folder_in_place(exchange, tmp_path, monkeypatch):
    if not exchange:  # a system without an atomic exchange
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    old = _folder(tmp_path / "report", **{"report.md": "old"})
    new = _folder(tmp_path / "new", **{"report.md": "new", "figure.png": "png"})
    swap_folder(new, old)
    assert _contents(old) == {"figure.png": "png", "report.md": "new"}
    assert os.listdir(tmp_path) == ["report"]


def test_an_interruption_between_the_two_renames_leaves_the_old_folder_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    old = _folder(tmp_path / "model", **{"model.json": "old"})
    new = _folder(tmp_path / "new", **{"model.json": "new"})
    renames = []
    real_rename = os.rename

    def rename_then_stop(a, b):
        if renames:
            raise KeyboardInterrupt  # killed after the old folder moved aside
        renames.append((a, b))
        real_rename(a, b)

    monkeypatch.setattr(outputs.os, "rename", rename_then_stop)
    with pytest.raises(KeyboardInterrupt):
        swap_folder(new, old)
    monkeypatch.undo()
    assert _contents(tmp_path / ".model.previous") == {"model.json": "old"}
    assert _contents(new) == {"model.json": "new"}


def test_a_file_in_the_folders_place_is_never_replaced(tmp_path):
    target = tmp_path / "model"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        with AtomicFolder(target) as tmp:
            Path(tmp, "model.json").write_text("new")
    assert target.read_text() == "not a folder" and os.listdir(tmp_path) == ["model"]
