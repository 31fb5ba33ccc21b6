"""fersk.landmarks.fan_backend: face_alignment's FAN, loaded by face_alignment's own code from
a local weights file, on the boxes fersk's detector finds."""

from __future__ import annotations

import numpy as np
import pytest

from fersk import LandmarkExtractor
from fersk._core.layout import FIVE_FROM_68
from fersk.landmarks.fan_backend import FanLandmarker
from tests.conftest import ASTRONAUT_FACE_BOX
from tests.landmarks.test_extractor import _points


def _fan_points(net, image: np.ndarray, box: np.ndarray, reference_scale: float) -> np.ndarray:
    """Where ``net`` puts the 68 points of the face in ``box``: face_alignment's crop around the
    box, the network's heatmaps, their peaks mapped back to the image."""
    import torch
    from face_alignment.api import CENTER_Y_OFFSET, crop, get_preds_fromhm

    left, top, right, bottom = box
    centre = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0])
    centre[1] -= (bottom - top) * CENTER_Y_OFFSET
    scale = (right - left + bottom - top) / reference_scale
    patch = crop(image, centre, scale).transpose((2, 0, 1)).astype(np.float32) / 255.0
    with torch.no_grad():
        heatmaps = net(torch.from_numpy(patch)[None])
    heatmaps = heatmaps[-1] if isinstance(heatmaps, list) else heatmaps
    _, points, _ = get_preds_fromhm(heatmaps.numpy(), centre, scale)
    return points.reshape(68, 2)


@pytest.mark.slow
def test_face_alignment_backend_loads_local_weights(tmp_path, face_rgb, monkeypatch):
    """FAN built with random weights, saved to a file, loaded by face_alignment's own code."""
    torch = pytest.importorskip("torch")
    from face_alignment.models import FAN

    from fersk.landmarks import fan_backend

    torch.manual_seed(0)
    weights = tmp_path / "2DFAN4-random.pth.tar"
    saved = FAN(4).state_dict()
    torch.save(saved, weights)
    loaded_files, boxes = [], []
    real_load, real_predict = torch.load, FanLandmarker.predict

    def load(f, *args, **kwargs):
        loaded_files.append(f)
        return real_load(f, *args, **kwargs)

    def predict(self, image, box):
        boxes.append((image, box))
        return real_predict(self, image, box)

    monkeypatch.setattr(torch, "load", load)
    monkeypatch.setattr(FanLandmarker, "predict", predict)
    ext = LandmarkExtractor(backend="face_alignment", weights=str(weights), device="cpu")
    X = ext.fit_transform([face_rgb])
    monkeypatch.undo()
    assert X.shape == (1, 136) and np.isfinite(X).all()
    # face_alignment's loader read our file, and its network holds exactly our weights.
    assert loaded_files == [str(weights)]
    model = fan_backend._face_alignment(str(weights), "cpu", False)
    net = model.face_alignment_net
    assert net.state_dict().keys() == saved.keys()
    for name, value in net.state_dict().items():
        assert torch.equal(value, saved[name]), name
    # The points are where that network puts them, on the face box fersk's detector found.
    ((image, box),) = boxes
    ours = FAN(4)
    ours.load_state_dict(real_load(weights, weights_only=True))
    expected = _fan_points(ours.eval(), image, box, model.face_detector.reference_scale)
    np.testing.assert_allclose(_points(X[0]), expected, atol=1e-3)
    # Random weights put points anywhere in FAN's crop around the face box, which
    # face_alignment builds at ~1.3x the box: the real crop/heatmap code ran.
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    size = right - left
    pts = _points(X[0])
    assert (pts[:, 0] > left - size).all() and (pts[:, 0] < right + size).all()
    assert (pts[:, 1] > top - size).all() and (pts[:, 1] < bottom + size).all()
    five = LandmarkExtractor(5, backend="face_alignment", weights=str(weights), device="cpu")
    np.testing.assert_allclose(
        five.fit_transform([face_rgb]).reshape(5, 2), pts[list(FIVE_FROM_68)]
    )
    with pytest.raises(FileNotFoundError, match="FAN weights file not found"):
        LandmarkExtractor(
            backend="face_alignment", weights=str(tmp_path / "nope.pth"), device="cpu"
        ).fit_transform([face_rgb])
