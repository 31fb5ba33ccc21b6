"""fersk.landmarks.extractor: LandmarkExtractor on real faces -- points where the face is, one
row per input in order, a cache keyed on content, clear errors for meaningless settings."""

from __future__ import annotations

import math
import pickle
import warnings

import cv2
import joblib
import numpy as np
import pytest
from sklearn.base import clone

from fersk import ClipLandmarkExtractor, LandmarkExtractor, PairwiseDistance
from fersk._core._sklearn_compat import InvalidParameterError
from fersk._core.base import MissingFeaturesWarning
from fersk._core.batch import SampleError
from fersk._core.layout import FIVE_FROM_68, REGIONS_68
from fersk.features.subject import SubjectNeutralizer
from fersk.landmarks.dlib_backend import DlibLandmarker
from tests.conftest import ASTRONAUT_FACE_BOX


def _points(row, n=68):
    return np.asarray(row).reshape(n, 2)


def _region(points, name):
    return points[list(REGIONS_68[name])]


def test_68_points_land_on_the_astronauts_face(face_rgb):
    pts = _points(LandmarkExtractor().fit_transform([face_rgb])[0])
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    size = right - left
    # Every point within the detected face box, give or take 15% of its size.
    assert (pts[:, 0] > left - 0.15 * size).all() and (pts[:, 0] < right + 0.15 * size).all()
    assert (pts[:, 1] > top - 0.15 * size).all() and (pts[:, 1] < bottom + 0.15 * size).all()
    right_eye, left_eye = _region(pts, "right_eye").mean(0), _region(pts, "left_eye").mean(0)
    mouth, nose_tip, chin = _region(pts, "outer_lips").mean(0), pts[30], pts[8]
    # The person's right eye is on the image's left; eyes level, in the upper half.
    assert right_eye[0] < nose_tip[0] < left_eye[0]
    assert abs(right_eye[1] - left_eye[1]) < 0.1 * size
    assert max(right_eye[1], left_eye[1]) < top + 0.5 * size
    # Top to bottom: brows, eyes, nose tip, mouth, chin.
    brows = np.vstack([_region(pts, "right_brow"), _region(pts, "left_brow")]).mean(0)
    assert brows[1] < right_eye[1] < nose_tip[1] < mouth[1] < chin[1]
    # The mouth is centred under the nose and narrower than the eye span.
    assert abs(mouth[0] - nose_tip[0]) < 0.1 * size
    lips = _region(pts, "outer_lips")
    assert np.ptp(lips[:, 0]) < left_eye[0] - right_eye[0] + 0.3 * size


def test_5_points_agree_with_the_68_point_layout(face_rgb):
    p68 = _points(LandmarkExtractor(68).fit_transform([face_rgb])[0])
    p5 = _points(LandmarkExtractor(5).fit_transform([face_rgb])[0], 5)
    iod = np.linalg.norm(p68[36:42].mean(0) - p68[42:48].mean(0))
    assert np.linalg.norm(p5 - p68[list(FIVE_FROM_68)], axis=1).max() < 0.1 * iod


@pytest.mark.parametrize("size", [48, 100])
def test_aligned_crops_without_detection(face_crop, face_rgb, size):
    """detector='none' on a face crop (upscaled when tiny) matches full-image landmarks."""
    crop = cv2.resize(face_crop, (size, size), interpolation=cv2.INTER_AREA)
    pts = _points(LandmarkExtractor(detector="none").fit_transform([crop])[0])
    full = _points(LandmarkExtractor().fit_transform([face_rgb])[0])
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    pad = 12
    expected = (full - [left - pad, top - pad]) * size / (right - left + 2 * pad)
    iod = np.linalg.norm(expected[36:42].mean(0) - expected[42:48].mean(0))
    assert np.median(np.linalg.norm(pts - expected, axis=1)) < 0.1 * iod


def test_mixed_batch_keeps_one_row_per_input_in_order(tmp_path, face_rgb, face_crop, non_face):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    gray16 = tmp_path / "gray16.png"
    cv2.imwrite(str(gray16), face_crop.astype(np.uint16) * 257)
    batch = [str(good), non_face, str(broken), str(gray16), face_rgb]

    extractor = LandmarkExtractor(detector="hog")
    with pytest.warns(MissingFeaturesWarning, match="2 of 5 samples"):
        X = extractor.fit_transform(batch)
    assert X.shape == (5, 136)
    assert np.isnan(X[[1, 2]]).all()
    assert not np.isnan(X[[0, 3, 4]]).any()
    # Rows are the images' own: the photo read from disk and from memory agree.
    np.testing.assert_allclose(X[0], X[4], atol=1.0)
    # The 16-bit crop is the face at another scale: its landmarks lie inside it.
    assert X[3].max() < 100 + 10
    assert extractor.n_failures_ == 2
    assert [(f.index, f.reason) for f in extractor.failures_] == [(1, "no_face"), (2, "unreadable")]
    assert "broken.png" in extractor.failures_[1].message


def test_on_failure_raise_names_the_sample(tmp_path, face_rgb, non_face):
    with pytest.raises(SampleError, match=r"sample 1 \(array\(shape=\(200, 200\).*no face"):
        LandmarkExtractor(on_failure="raise").fit_transform([face_rgb, non_face])
    with pytest.raises(SampleError, match="sample 0.*missing.png"):
        LandmarkExtractor(on_failure="raise").fit_transform([str(tmp_path / "missing.png")])


def test_parallel_and_serial_give_identical_rows_in_order(face_crop, non_face):
    rng = np.random.default_rng(0)
    batch = []
    for i in range(70):
        img = face_crop if i % 3 else non_face
        batch.append(
            np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingFeaturesWarning)
        serial = LandmarkExtractor(detector="hog", n_jobs=1).transform(batch)
        parallel = LandmarkExtractor(detector="hog", n_jobs=2).transform(batch)
    np.testing.assert_array_equal(serial, parallel)
    missing = np.isnan(serial).all(axis=1)
    assert missing[::3].all() and not missing[1::3].any()


def test_cache_is_keyed_on_content_and_survives_an_interrupt(tmp_path, face_crop, monkeypatch):
    images = [np.roll(face_crop, k, axis=1) for k in range(40)]
    extractor = LandmarkExtractor(detector="none", memory=tmp_path / "cache")
    calls = {"n": 0}
    real_predict = DlibLandmarker.predict

    def interrupted(self, image, box):
        calls["n"] += 1
        if calls["n"] > 35:
            raise KeyboardInterrupt
        return real_predict(self, image, box)

    monkeypatch.setattr(DlibLandmarker, "predict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extractor.transform(images)
    # Every sample finished before the interrupt is in the cache.
    from fersk._core.cache import resolve_cache

    assert len(resolve_cache(tmp_path / "cache")) == 35

    calls["n"] = 0
    monkeypatch.setattr(
        DlibLandmarker,
        "predict",
        lambda self, im, box: calls.__setitem__("n", calls["n"] + 1) or real_predict(self, im, box),
    )
    X = extractor.transform(images)
    assert calls["n"] == 5  # only the unfinished samples were extracted again
    # Cached rows equal freshly computed ones, and a renamed copy hits the cache.
    fresh = LandmarkExtractor(detector="none").transform(images)
    np.testing.assert_array_equal(X, fresh)
    calls["n"] = 0
    extractor.transform([img.copy() for img in images[:5]])
    assert calls["n"] == 0
    # Different settings never read another setting's entries.
    LandmarkExtractor(5, detector="none", memory=tmp_path / "cache").transform(images[:3])
    assert calls["n"] == 3


def test_multiple_faces_policy(face_rgb):
    big = face_rgb[60:200, 150:300]
    small = cv2.resize(big, None, fx=0.75, fy=0.75)
    canvas = np.full((260, 400, 3), 90, np.uint8)
    canvas[10:150, 5:155] = big
    canvas[140 : 140 + small.shape[0], 260 : 260 + small.shape[1]] = small
    largest = _points(LandmarkExtractor(upsample=1).transform([canvas])[0])
    assert largest[:, 0].mean() < 160
    with pytest.warns(MissingFeaturesWarning):
        ext = LandmarkExtractor(upsample=1, multiple_faces="raise")
        assert np.isnan(ext.transform([canvas])).all()
    assert ext.failures_[0].reason == "multiple_faces"


def test_false_positive_policies(tmp_path, face_rgb):
    """JPEG-compressed, the astronaut photo gives HOG a large, barely-positive false face."""
    path = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR))
    left, top, right, bottom = ASTRONAUT_FACE_BOX

    def on_face(row):
        x, y = _points(row).mean(0)
        return left < x < right and top < y < bottom

    # The false box is larger, but scores far below the face: the default ignores it
    # (issue 9, item 13; it used to win).
    assert on_face(LandmarkExtractor().transform([path])[0])
    assert on_face(LandmarkExtractor(multiple_faces="confident").transform([path])[0])
    assert on_face(LandmarkExtractor(detection_threshold=0.2).transform([path])[0])


def test_bgr_arrays_and_stacked_input(face_rgb, face_crop):
    rgb = LandmarkExtractor().transform([face_rgb])
    bgr_image = np.ascontiguousarray(face_rgb[..., ::-1])
    bgr = LandmarkExtractor(channel_order="bgr").transform([bgr_image])
    np.testing.assert_array_equal(rgb, bgr)
    stack = np.stack([face_crop, face_crop])
    X = LandmarkExtractor(detector="none").transform(stack)
    assert X.shape == (2, 136) and np.isfinite(X).all()
    with pytest.raises(ValueError, match="single image must be wrapped"):
        LandmarkExtractor().transform(face_crop)
    with pytest.raises(TypeError, match=r"X\[1\] is a int"):
        LandmarkExtractor().transform([face_crop, 3])


def test_estimator_protocol(tmp_path, face_crop):
    ext = LandmarkExtractor(5, detector="none", min_size=120)
    X = ext.fit_transform([face_crop])
    assert clone(ext).get_params() == ext.get_params()
    for restored in (pickle.loads(pickle.dumps(ext)), clone(ext)):
        np.testing.assert_array_equal(restored.transform([face_crop]), X)
    joblib.dump(ext, tmp_path / "ext.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "ext.joblib").transform([face_crop]), X)
    df = LandmarkExtractor(5, detector="none").set_output(transform="pandas").transform([face_crop])
    assert list(df.columns) == ["x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4"]
    with pytest.raises(ValueError, match="n_landmarks"):
        LandmarkExtractor(12).fit([face_crop])
    with pytest.raises(ValueError, match="detector"):
        LandmarkExtractor(detector="haar").fit([face_crop])


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.bad_input("9")
def test_a_model_file_that_is_not_a_model_is_named(tmp_path):
    junk = tmp_path / "predictor.dat"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="predictor.dat' is not a dlib shape predictor"):
        LandmarkExtractor(predictor_path=str(junk)).fit()
    with pytest.raises(ValueError, match="does not exist"):
        LandmarkExtractor(predictor_path=str(tmp_path / "gone.dat")).fit()
    weights = tmp_path / "fan.pth.tar"
    weights.write_bytes(b"not torch")
    with pytest.raises(ValueError, match="fan.pth.tar' cannot be loaded"):
        LandmarkExtractor(backend="face_alignment", weights=str(weights), device="cpu").fit()


@pytest.mark.bad_input("11")
def test_meaningless_parameters_and_inputs_are_refused(face_crop):
    with pytest.raises(InvalidParameterError, match="detection_threshold"):
        LandmarkExtractor(detection_threshold=math.nan).fit()
    with pytest.raises(InvalidParameterError, match="memory"):
        LandmarkExtractor(memory=3.5).fit()
    with pytest.raises(ValueError, match="memory='' names no folder"):
        LandmarkExtractor(5, detector="none", memory="").transform([face_crop])
    for unordered in [{"a.png", "b.png"}, {"a.png": 0}, frozenset(["a.png"])]:
        with pytest.raises(TypeError, match="has no order"):
            LandmarkExtractor().transform(unordered)
    X = np.random.default_rng(0).normal(size=(3, 10))
    with pytest.raises(ValueError, match="integer indices"):
        PairwiseDistance(landmarks=[0, 1.5, 3]).fit(X)
    with pytest.raises(ValueError, match="integer indices"):
        PairwiseDistance(landmarks=[True, False]).fit(X)
    assert PairwiseDistance(landmarks=[0.0, 2.0, 4.0]).fit(X).transform(X).shape == (3, 3)
    sn = SubjectNeutralizer().fit(X, groups=["a", "b", "a"])
    with pytest.raises(ValueError, match="y has shape"):
        sn.partial_fit(X, y=[0], groups=["a", "b", "a"])
    with pytest.raises(ValueError, match="y has shape"):
        SubjectNeutralizer("neutral").fit(X, y=["neutral"], groups=["a", "b", "a"])


@pytest.mark.bad_input("byte-string-paths")
def test_byte_string_paths_and_clip_failure_counts(faces_dir, tmp_path):
    _, paths = faces_dir
    X = LandmarkExtractor(5, detector="none").fit_transform(np.array(paths[:2], dtype="S"))
    assert np.isfinite(X).all()
    extractor = ClipLandmarkExtractor(LandmarkExtractor(5, detector="none"), n_frames=4)
    with pytest.warns(UserWarning, match="4 of 8 frames"):
        extractor.transform([tmp_path / "missing.mp4", [paths[0]] * 4])
