"""Stable emotion predictions on a video stream: track, detect motion, condition, smooth.

:class:`VideoAnalyzer` runs any fitted fersk pipeline on a video file, a
camera or an iterable of frames and yields one row per face per frame (one
row with ``face_found=False`` for a frame without a face), in frame order:

1. faces are detected every ``detect_every`` frames (or when one is lost)
   and tracked between detections, with stable track ids
   (:class:`~fersk.video.tracking.FaceTracker`);
2. each track's landmarks give a motion-energy signal and an adaptive
   still / moving flag (:class:`~fersk.video.motion.MotionDetector`, the
   normalisation of :class:`~fersk.MotionDelta`);
3. the model sees what it was trained on, each step handed what the stream
   already has (:func:`fersk._core.pipeline_tools.predict_proba_with`): the
   tracker's landmarks take the place of the model's
   :class:`~fersk.LandmarkExtractor` wherever it sits (first, or inside a
   feature union beside a clarity binner, as ``fersk train`` builds it), the
   last ``window_s`` seconds of landmarks sampled to its ``n_frames`` take the
   place of a :class:`~fersk.ClipLandmarkExtractor`, and the face crop goes to
   every step that reads pixels (a clarity binner, a CNN). Landmarks are
   computed once per face per frame, by the tracker;
4. if the model holds a :class:`~fersk.SubjectNeutralizer`, each track gets
   its own running baseline learned online (``SubjectNeutralizer.partial_fit``):
   from its *still* frames for ``baseline="neutral"`` (so a person's resting
   face reads neutral), from every frame for ``"mean"``/``"median"`` (as they
   were fitted); the neutralizer's ``shrinkage`` weighs a young baseline
   towards the population's;
5. the class probabilities are smoothed per track over time
   (:class:`~fersk.video.smoothing.ProbabilitySmoother`: exponential
   averaging with time constant ``tau_s``, then a label switch needs a
   ``margin`` and ``min_dwell_s``).
"""

from __future__ import annotations

import copy
import csv
import os
import time
from collections import deque
from collections.abc import Iterator
from numbers import Integral, Real

import cv2
import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from .._core._sklearn_compat import HasMethods, Interval, StrOptions
from .._core.pipeline_tools import class_names, find_steps, predict_proba_with
from ..features.calibration import floored_log
from ..features.subject import SubjectNeutralizer
from ..io import (
    AtomicOutput,
    VideoFileWriter,
    face_crop,
    face_crop_window,
    sample_frame_indices,
)
from ..landmarks import LandmarkExtractor
from ..landmarks.detection import DEFAULT_DETECTOR
from .annotate import annotate_frame
from .model_input import landmark_step
from .motion import MotionDetector, default_motion_detector
from .outputs import check_video_outputs
from .smoothing import ProbabilitySmoother
from .source import open_source
from .tracking import FaceTracker

__all__ = ["VideoAnalyzer"]

BOX = ("x0", "y0", "x1", "y1")


class _TrackState:
    """What the stream remembers about one face track."""

    def __init__(self) -> None:
        self.history: deque = deque()  # (time, landmarks (L, 2)), the last window_s seconds
        self.last_seen = -1
        self.raw_label: int | None = None
        self.first_seen: float | None = None  # time of the first frame (calibration)
        self.z_sum: np.ndarray | None = None  # sum of the model's log-probabilities so far
        self.z_count = 0
        self.calibration = "none"  # how its last frame was calibrated


class VideoAnalyzer(BaseEstimator):
    """Per-face, per-frame emotion predictions on a video stream, stable over time.

    Parameters
    ----------
    model : fitted classifier pipeline
        A landmark pipeline (``LandmarkExtractor`` first), a clip pipeline
        (``ClipLandmarkExtractor`` first) or any image classifier
        (``predict_proba`` preferred).
    target_names : list of str, optional
        Names of integer class codes (indexed by code); default: the model's
        string ``classes_``, or ``target_names_`` for fersk 0.1 models (see
        :func:`fersk._core.pipeline_tools.class_names`).
    detector : {"yunet", "hog", "mmod"} or None, default=None
        Face detector; None uses the model's own extractor's detector, and
        YuNet (:data:`fersk.landmarks.detection.DEFAULT_DETECTOR`) for a model
        without one (a CNN) or trained on face crops (``detector="none"``). The
        tracker's landmarks always come from the model's extractor settings
        (backend, predictor file, upsampling, detection threshold); a model
        that reads no landmarks is followed with dlib's 5-point predictor (its
        ``motion`` is measured on those 5 points).
    detect_every : int, default=5
        Frames between detector runs while every face is tracked.
    max_faces : int or None, default=None
        Follow at most this many faces (the largest detections); None: all.
    window_s : float, default=1.0
        Seconds of landmarks a clip model sees (sampled to its ``n_frames``).
    tau_s, margin, min_dwell_s : float
        Smoothing: time constant of the probability average, the lead a new
        label needs, and the least time a label is shown. ``0, 0, 0`` shows
        the raw per-frame prediction. Larger values: fewer flips, more lag.
    online_baseline : bool, default=True
        Learn each track's baselines online: a ``SubjectNeutralizer``'s from
        the track's still frames; for a model calibrated to the person
        (:class:`~fersk.features.calibration.PersonCalibratedClassifier`, the
        default model), the track's running mean of the model's outputs, once
        the track is ``calibrate_after_s`` old.
    neutral : image, list of images or None, default=None
        Neutral photos of the person in the video (one person): a calibrated
        model reads every face against them from the first frame on (each
        row's ``calibration`` says ``neutral``). A photo without a face is an
        error before the video is opened.
    calibrate_after_s : float, default=1.0
        Seconds a track is followed before its running mean calibrates it
        (without ``neutral``; its rows say ``none`` until then). When a
        track's calibration starts, its smoothing starts over from the
        calibrated answer: the first second's uncalibrated labels are neither
        averaged into it nor held by the hysteresis.
    crop_margin : float or None, default=None
        Image models (a CNN): how the face is cut out of the frame. None frames
        it as the shipped models were trained and as ``fersk predict`` crops
        photos (:func:`fersk.io.face_crop`: a square of 1.28 box sides, padded
        at the frame's edges); a float grows the face box by this fraction on
        each side instead (clipped to the frame).
    motion : MotionDetector or None, default=None
        Flags the frames where a face moves; None uses
        :func:`default_motion_detector`.

    See Also
    --------
    fersk.video.FaceTracker : Finds and follows the faces.
    fersk.video.ProbabilitySmoother : Smooths each face's probabilities and label.
    fersk.video.MotionDetector : Flags the frames where a face moves.
    fersk.video.open_source : The video files, cameras and frame lists it reads.

    Examples
    --------
    A shipped model on a generated half-second video (any path, camera index
    or iterable of frames works the same way):

    >>> from fersk.datasets import make_sample_video
    >>> from fersk.models import load_model
    >>> video = make_sample_video(size=(240, 180), fps=10, script=[("neutral", 0.5)])
    >>> analyzer = VideoAnalyzer(load_model())  # calibrated once a track is 1 s old
    >>> rows = list(analyzer.stream(video.frames, fps=10))
    >>> [(row["frame"], row["track"], row["face_found"]) for row in rows]
    [(0, 0, True), (1, 0, True), (2, 0, True), (3, 0, True), (4, 0, True)]
    >>> sorted(rows[0])[:5]  # and box, labels, probabilities, motion...
    ['calibration', 'confidence', 'detected', 'face_found', 'frame']
    """

    def __init__(
        self,
        model,
        *,
        target_names=None,
        detector: str | None = None,
        detect_every: int = 5,
        max_faces: int | None = None,
        window_s: float = 1.0,
        tau_s: float = 0.5,
        margin: float = 0.1,
        min_dwell_s: float = 0.5,
        online_baseline: bool = True,
        neutral=None,
        calibrate_after_s: float = 1.0,
        crop_margin: float | None = None,
        motion: MotionDetector | None = None,
    ) -> None:
        self.model = model
        self.target_names = target_names
        self.detector = detector
        self.detect_every = detect_every
        self.max_faces = max_faces
        self.window_s = window_s
        self.tau_s = tau_s
        self.margin = margin
        self.min_dwell_s = min_dwell_s
        self.online_baseline = online_baseline
        self.neutral = neutral
        self.calibrate_after_s = calibrate_after_s
        self.crop_margin = crop_margin
        self.motion = motion

    _parameter_constraints: dict = {
        "model": [HasMethods(["predict"])],
        "target_names": [None, "array-like"],
        "detector": [None, StrOptions({"yunet", "hog", "mmod"})],
        "detect_every": [Interval(Integral, 1, None, closed="left")],
        "max_faces": [None, Interval(Integral, 1, None, closed="left")],
        "window_s": [Interval(Real, 0, None, closed="neither")],
        "tau_s": [Interval(Real, 0, None, closed="left")],
        "margin": [Interval(Real, 0, 1, closed="left")],
        "min_dwell_s": [Interval(Real, 0, None, closed="left")],
        "online_baseline": ["boolean"],
        "neutral": "no_validation",
        "calibrate_after_s": [Interval(Real, 0, None, closed="left")],
        "crop_margin": [Interval(Real, 0, None, closed="left"), None],
        "motion": [None, MotionDetector],
    }

    # ------------------------------------------------------------ set-up

    def _setup(self) -> None:
        self._validate_params()
        # A private copy: online baselines must not change the caller's model.
        self.model_ = copy.deepcopy(self.model)
        # The tracker computes each face's landmarks once; they take the place of
        # the model's own extractor step (see predict_proba_with).
        self.kind_, self.landmark_step_ = landmark_step(self.model_)
        self.neutralizers_ = find_steps(self.model_, SubjectNeutralizer)
        self.class_names_ = class_names(self.model_, self.target_names)
        self.calibrator_ = self.model_ if hasattr(self.model_, "calibrate") else None
        self.reference_ = self._reference()
        if not self.online_baseline:
            strict = [sn for sn in self.neutralizers_ if sn.unseen == "error"]
            if strict:
                raise ValueError(
                    "the model's SubjectNeutralizer has unseen='error', so it cannot predict "
                    "for a new face without a baseline; use online_baseline=True"
                )
        extractor = self.landmark_step_
        if self.kind_ == "clip":
            self.n_frames_ = int(extractor.n_frames)
            extractor = extractor.extractor
        else:
            self.n_frames_ = 1
        # The tracker places the landmarks the model's own extractor would (its
        # backend, predictor, detector settings): a model never sees other
        # landmarks in a video than in training.
        self.tracker_ = FaceTracker.from_extractor(
            # a model that reads no landmarks: the 5-point predictor (10x faster than
            # the 68-point one) follows the faces; "none": the default detector
            extractor or LandmarkExtractor(5, detector="none"),
            detector=self.detector,
            detect_every=self.detect_every,
            max_faces=self.max_faces,
        )
        self.tracker_.reset()  # loads (and checks) the landmark model now
        self.motion_ = (
            copy.deepcopy(self.motion) if self.motion is not None else default_motion_detector()
        )
        self.smoother_ = ProbabilitySmoother(
            tau_s=self.tau_s, margin=self.margin, min_dwell_s=self.min_dwell_s
        )
        self.tracks_: dict[int, _TrackState] = {}
        self._pending_blanks = 0

    def _reference(self) -> np.ndarray | None:
        """The model's log-probabilities of the ``neutral`` photos (their mean), or None."""
        if self.neutral is None:
            return None
        if self.calibrator_ is None:
            raise ValueError(
                "neutral photos need a model that calibrates to the person (the default model "
                f"does); this {type(self.model_).__name__} does not"
            )
        from ..features.calibration import reference_log_proba

        photos = self.neutral if isinstance(self.neutral, (list, tuple)) else [self.neutral]
        detector = self.detector or DEFAULT_DETECTOR
        return reference_log_proba({None: photos}, self.calibrator_, detector, 1)[None].mean(axis=0)

    def _calibrated(self, state: _TrackState, proba: np.ndarray, now: float) -> tuple:
        """Calibrated probabilities of one face, its calibration and reference count."""
        model = self.calibrator_
        z = floored_log(proba)
        if self.online_baseline:
            state.z_sum = z if state.z_sum is None else state.z_sum + z
            state.z_count += 1
            if state.first_seen is None:
                state.first_seen = now
        k = float(model.shrinkage)
        if state.z_sum is None:
            mean = model.population_
        else:
            mean = (state.z_sum + k * model.population_) / (state.z_count + k)
        if self.reference_ is not None:
            calibration, reference = "neutral", self.reference_
        elif state.first_seen is not None and now - state.first_seen >= self.calibrate_after_s:
            calibration, reference = "mean", np.full_like(z, np.nan)
        else:
            calibration, reference = "none", np.full_like(z, np.nan)
        parts = {"reference": reference[None], "mean": mean[None],
                 "calibration": np.array([calibration], dtype=object)}  # fmt: skip
        references = 0 if self.reference_ is None else len(np.atleast_1d(self.neutral))
        return model.calibrate(z[None], parts)[0], calibration, references

    def _crop(self, image, box) -> tuple[np.ndarray, np.ndarray]:
        """The face's crop (see ``crop_margin``), and its top-left corner in the frame."""
        if self.crop_margin is None:
            left, top, _ = face_crop_window(box)
            return face_crop(image, box), np.array([left, top], float)
        h, w = image.shape[:2]
        x0, y0, x1, y1 = box
        grow = self.crop_margin * max(x1 - x0, y1 - y0)
        left, top = int(max(0, x0 - grow)), int(max(0, y0 - grow))
        right, bottom = int(min(w, x1 + grow + 1)), int(min(h, y1 + grow + 1))
        return np.ascontiguousarray(image[top:bottom, left:right]), np.array([left, top], float)

    def _landmarks_input(self, state: _TrackState, origin: np.ndarray) -> np.ndarray:
        """The extractor's output for this face, from the tracker's landmarks (crop coordinates)."""
        if self.kind_ == "landmarks":
            return (state.history[-1][1] - origin).reshape(1, -1)
        now = state.history[-1][0]
        window = [p for t, p in state.history if now - t <= self.window_s]
        picks = sample_frame_indices(len(window), self.n_frames_)
        return (np.stack([window[i] for i in picks]) - origin).reshape(1, -1)

    def _learners(self, track_id: int, still: bool) -> dict:
        """The online baselines that learn from this face before it is read.

        A ``baseline="neutral"`` neutralizer learns from the track's still
        frames (its resting face); ``"mean"``/``"median"``/``"onset"`` ones from
        every frame, as they were fitted (a subject's mean over all of its
        samples). Each learns from the very input it then transforms.
        """
        gid = np.array([f"track-{track_id}"], dtype=object)
        learn = {}
        for sn in self.neutralizers_ if self.online_baseline else ():
            if sn.baseline == "neutral" and not still:
                continue
            y = [sn.neutral_label] if sn.baseline == "neutral" else None
            learn[id(sn)] = lambda X, sn=sn, y=y: sn.partial_fit(X, y, groups=gid)
        return learn

    def _run_model(self, image, tracks: list, states: list, learn: dict) -> np.ndarray:
        """Class probabilities of these faces, in one batch through the model."""
        crops, landmarks = [], []
        for track, state in zip(tracks, states):
            crop, origin = self._crop(image, track.box)
            crops.append(crop)
            if self.landmark_step_ is not None:
                landmarks.append(self._landmarks_input(state, origin))
        provided = {id(self.landmark_step_): np.vstack(landmarks)} if landmarks else {}
        groups = np.array([f"track-{track.id}" for track in tracks], dtype=object)
        routed = bool(self.neutralizers_)
        # assume_finite: the inputs are the tracker's landmarks and a decoded crop,
        # both finite; skipping the checks saves a third of the model's time.
        model = self.model_ if self.calibrator_ is None else self.calibrator_.estimator_
        with sklearn.config_context(enable_metadata_routing=routed, assume_finite=True):
            return predict_proba_with(
                model,
                crops,
                provided=provided,
                on_input=learn,
                params={"groups": groups} if routed else None,
            )

    # ------------------------------------------------------------ streaming

    def _empty_row(self, frame) -> dict:
        row = {
            "frame": frame.index,
            "time_s": round(frame.time, 6),
            "frame_ok": frame.ok,
            "face_found": False,
            "track": -1,
            "person": "",
            "calibration": "none",
            "n_references": 0,
            "detected": False,
            **{k: np.nan for k in BOX},
            "motion": False,
            "motion_energy": np.nan,
            "raw_label": "",
            "label": "",
            "confidence": np.nan,
        }
        row.update({f"p_{name}": np.nan for name in self.class_names_})
        return row

    def frames(
        self,
        source,
        *,
        fps: float | None = None,
        max_frames: int | None = None,
        progress: bool = False,
    ) -> Iterator[tuple]:
        """Yield ``(frame, rows)`` per frame: the :class:`~fersk.video.source.Frame` and its rows.

        See :meth:`stream` for the parameters and the rows.
        """
        frame_source = self._start(source, fps, max_frames)
        yield from self._iterate(frame_source, max_frames, progress)

    def _start(self, source, fps, max_frames):
        """Check the settings and open the source: every mistake surfaces before any work."""
        if max_frames is not None and (
            isinstance(max_frames, bool) or not isinstance(max_frames, Integral) or max_frames < 1
        ):
            raise ValueError(f"max_frames must be a positive integer or None, got {max_frames!r}")
        self._setup()
        return open_source(source, fps=fps)

    def _iterate(self, frame_source, max_frames, progress) -> Iterator[tuple]:
        with frame_source as frames:
            self.source_fps_ = frames.fps
            total = frames.n_frames if max_frames is None else max_frames
            with tqdm(total=total, disable=not progress, unit="frame", desc="video") as bar:
                for frame in frames:
                    if max_frames is not None and frame.index >= max_frames:
                        break
                    yield frame, self._process(frame)
                    bar.update(1)

    def stream(
        self,
        source,
        *,
        fps: float | None = None,
        max_frames: int | None = None,
        progress: bool = False,
    ) -> Iterator[dict]:
        """Yield one row per face per frame (or one face-less row per frame), in order.

        Parameters
        ----------
        source : str, path, int or iterable
            See :func:`fersk.video.source.open_source`.
        fps : float, optional
            Frame rate of an iterable source.
        max_frames : int, optional
            Stop after this many frames.
        progress : bool, default=False
            A tqdm bar (frames of a file, or open-ended for a camera).

        Yields
        ------
        dict
            ``frame, time_s, frame_ok, face_found, track, person,
            calibration, n_references, detected, x0, y0, x1, y1, motion,
            motion_energy, raw_label, label, confidence, p_<class>...``
            (smoothed probabilities; ``calibration`` is ``neutral``, ``mean`` or
            ``none`` for a model calibrated to the person, ``none`` otherwise).
        """
        for _, rows in self.frames(source, fps=fps, max_frames=max_frames, progress=progress):
            yield from rows

    def _predict_frame(self, image, tracks: list, states: list, moves: list) -> list:
        """Class probabilities of every face of a frame: in one batch through the model,
        unless subject neutralizers learn from each face first (then face by face)."""
        if not tracks:
            return []
        if self.neutralizers_ and self.online_baseline:
            return [
                self._run_model(image, [track], [state], self._learners(track.id, not m.moving))[0]
                for track, state, m in zip(tracks, states, moves)
            ]
        return list(self._run_model(image, tracks, states, {}))

    def _process(self, frame) -> list[dict]:
        tracks = self.tracker_.update(frame.image) if frame.ok else self.tracker_.update(None)
        states, moves = [], []
        for track in tracks:
            state = self.tracks_.setdefault(track.id, _TrackState())
            state.last_seen = frame.index
            state.history.append((frame.time, np.asarray(track.landmarks, dtype=float)))
            while frame.time - state.history[0][0] > self.window_s:
                state.history.popleft()
            states.append(state)
            moves.append(self.motion_.update(track.id, frame.time, track.landmarks))
        rows = []
        probas = self._predict_frame(frame.image, tracks, states, moves)
        for track, state, moving, raw in zip(tracks, states, moves, probas):
            calibration, references = "none", 0
            if self.calibrator_ is not None:
                raw, calibration, references = self._calibrated(state, raw, frame.time)
                if calibration != state.calibration:  # another reading of the face: start over
                    self.smoother_.forget(track.id)
                    state.calibration = calibration
            smooth = self.smoother_.update(track.id, frame.time, raw)
            row = self._empty_row(frame)
            row.update(
                face_found=True,
                track=track.id,
                person=f"track-{track.id}",
                calibration=calibration,
                n_references=references,
                detected=bool(track.detected),
                **{k: round(float(v), 2) for k, v in zip(BOX, track.box)},
                motion=bool(moving.moving),
                motion_energy=float(moving.energy),
                raw_label=self.class_names_[int(np.argmax(raw))],
                label="" if smooth.label is None else self.class_names_[smooth.label],
                confidence=(
                    np.nan if smooth.label is None else float(smooth.probabilities[smooth.label])
                ),
            )
            row.update(
                {f"p_{n}": float(p) for n, p in zip(self.class_names_, smooth.probabilities)}
            )
            rows.append(row)
        # Forget tracks the tracker has dropped for good.
        horizon = self.tracker_.max_missed + 1
        for track_id in [i for i, s in self.tracks_.items() if frame.index - s.last_seen > horizon]:
            del self.tracks_[track_id]
            self.motion_.forget(track_id)
            self.smoother_.forget(track_id)
        return rows or [self._empty_row(frame)]

    def run(
        self,
        source,
        *,
        csv_path: str | os.PathLike | None = None,
        annotate: str | os.PathLike | None = None,
        fps: float | None = None,
        max_frames: int | None = None,
        progress: bool = False,
        inputs: tuple = (),
        names: tuple[str, str] = ("csv_path", "annotate"),
    ) -> dict:
        """Process a whole stream, writing a CSV (flushed every frame) and an annotated video.

        Ctrl-C (``KeyboardInterrupt``) stops cleanly: the rows and frames
        written so far are kept, and the summary says ``interrupted``.

        Everything is checked before any output is touched: the outputs
        (:func:`check_video_outputs`: an existing folder, not a folder, never
        the input video, one of ``inputs`` or each other; ``annotate`` with a
        video extension), the settings, and the source (it must open, and a file must hold a
        decodable frame: a video without one is refused, and an earlier CSV
        of the same name is left as it was). Outputs are written under
        temporary names in their folder and moved into place at the end, so
        a run that fails leaves an earlier file of the same name intact.

        Parameters
        ----------
        source : str, path, int or iterable
            See :func:`fersk.video.source.open_source`.
        csv_path : str or path-like, optional
            The CSV: one row per face per frame (see :meth:`stream`).
        annotate : str or path-like, optional
            A copy of the video with each face's box and label; the extension
            picks the container and codec (:class:`fersk.io.VideoFileWriter`:
            ``.mp4`` in H.264 where OpenCV can write it, ``.webm`` for a
            browser, ``.avi`` Motion-JPEG).
        fps, max_frames, progress
            See :meth:`stream`.
        inputs : tuple of paths, default=()
            Other files the outputs must never replace (the model's file or
            folder); a source path is one already.
        names : (str, str), default=("csv_path", "annotate")
            How error messages name the two outputs (``fersk video``: its options).

        Returns
        -------
        dict
            ``frames``, ``rows``, ``faces`` (rows with a face), ``tracks``
            (distinct ids), ``seconds``, ``fps`` (processed frames per
            second), ``interrupted``, ``dropped`` (camera frames skipped because
            the stream was behind: a camera drops frames rather than lag),
            ``csv``, ``annotated``.

        Raises
        ------
        ValueError
            An output path that is a folder, in a missing folder, one of the
            inputs, or both outputs the same file.
        VideoReadError
            A source that does not exist, cannot be opened, or has no
            decodable frame.
        """
        check_video_outputs(
            source, csv_path=csv_path, annotate=annotate, inputs=inputs, names=names
        )
        frame_source = self._start(source, fps, max_frames)
        start = time.perf_counter()
        n_frames, n_rows, n_faces, tracks, interrupted = 0, 0, 0, set(), False
        # Outputs are written under temporary names and moved into place at the
        # end (or on Ctrl-C, keeping every finished frame); a failed run leaves
        # any earlier file at csv_path / annotate untouched.
        csv_out = AtomicOutput(csv_path, keep_partial=True) if csv_path is not None else None
        video_out = AtomicOutput(annotate, keep_partial=True) if annotate is not None else None
        handle, writer, video = None, None, None
        try:
            if csv_out is not None:
                handle = open(csv_out.__enter__(), "w", newline="")
            annotate_tmp = video_out.__enter__() if video_out is not None else None
            try:
                for frame, rows in self._iterate(frame_source, max_frames, progress):
                    if handle is not None:
                        if writer is None:
                            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                            writer.writeheader()
                        writer.writerows(rows)
                        handle.flush()  # an interruption keeps every finished frame
                    if annotate_tmp is not None:
                        video = self._write_annotated(video, annotate_tmp, frame, rows, annotate)
                    n_frames += 1
                    n_rows += len(rows)
                    faces = [r["track"] for r in rows if r["face_found"]]
                    n_faces += len(faces)
                    tracks.update(faces)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                if handle is not None:
                    handle.close()
                if video is not None:
                    video.close()
        except BaseException:
            for out in (csv_out, video_out):
                if out is not None:
                    out.discard()
            raise
        if csv_out is not None:
            csv_out.commit()
        if video_out is not None:
            video_out.commit() if video is not None else video_out.discard()
        seconds = time.perf_counter() - start
        return {
            "frames": n_frames,
            "rows": n_rows,
            "faces": n_faces,
            "tracks": sorted(tracks),
            "seconds": seconds,
            "fps": n_frames / seconds if seconds > 0 else float("nan"),
            "interrupted": interrupted,
            "dropped": frame_source.dropped,
            "csv": None if csv_path is None else os.fspath(csv_path),
            "annotated": None if annotate is None or video is None else os.fspath(annotate),
        }

    def _write_annotated(self, video, path, frame, rows, name):
        """Write one annotated frame; unreadable frames become black ones (same timing)."""
        if video is None:
            if frame.image is None:
                self._pending_blanks += 1
                return None  # no size yet: written once the first frame decodes
            video = VideoFileWriter(path, fps=self.source_fps_, name=repr(os.fspath(name)))
            self._blank = np.zeros_like(frame.image)
            for _ in range(self._pending_blanks):
                video.write(self._blank)
            self._pending_blanks = 0
        image = self._blank if frame.image is None else annotate_frame(frame.image, rows)
        if image.shape != self._blank.shape:  # boxes drawn first, in the frame's own pixels
            image = cv2.resize(image, self._blank.shape[1::-1])
        video.write(image)
        return video
