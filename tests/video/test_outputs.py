"""fersk.video.outputs: a stream's CSV and annotated video, checked before any work."""

from __future__ import annotations

import pytest

from fersk.video.outputs import check_video_outputs


def test_good_outputs_pass_and_a_camera_is_no_input_file(tmp_path):
    check_video_outputs("clip.mp4", csv_path=tmp_path / "rows.csv", annotate=tmp_path / "a.webm")
    check_video_outputs(0, csv_path=tmp_path / "0")  # camera 0: a file named "0" is fine
    check_video_outputs([None], annotate=tmp_path / "a.avi")
    assert list(tmp_path.iterdir()) == []  # checked, nothing written


@pytest.mark.parametrize(
    "outputs, message",
    [
        ({"csv_path": "{tmp}/clip.mp4"}, r"^--csv .*clip\.mp4' is the input"),
        ({"annotate": "{tmp}/model.joblib"}, r"^--annotate .*model\.joblib' is the input"),
        ({"annotate": "{tmp}/a.csv"}, r"^--annotate .*a\.csv' must end in a video extension"),
        ({"csv_path": "{tmp}/a.avi", "annotate": "{tmp}/a.avi"}, "are the same file"),
        ({"csv_path": "{tmp}/no/rows.csv"}, r"^--csv .*: folder .* does not exist"),
        ({"csv_path": "{tmp}"}, r"^--csv .* is a folder"),
    ],
)
def test_each_mistake_is_named_with_the_options_name(outputs, message, tmp_path):
    clip, model = tmp_path / "clip.mp4", tmp_path / "model.joblib"
    clip.write_bytes(b"video")
    model.write_bytes(b"model")
    outputs = {k: v.format(tmp=tmp_path) for k, v in outputs.items()}
    with pytest.raises(ValueError, match=message):
        check_video_outputs(clip, inputs=(model,), names=("--csv", "--annotate"), **outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "model.joblib"]
