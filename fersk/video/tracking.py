"""Per-frame face tracking for video streams: boxes, stable ids and landmarks.

:class:`FaceTracker` turns a stream of frames (a video file, a camera) into,
for every frame, the list of visible faces: each one's box, a track id that
stays the same while the face stays in view (and across short detection
gaps), and its landmarks. It reuses fersk's offline dlib pieces:

* the face detector (:func:`fersk.landmarks.detection.detect_faces`) runs on
  the first frame, then every ``detect_every`` frames, and on any frame where
  a followed face was lost: "detect every N frames or on loss";
* between detections, dlib's correlation tracker follows each face, and the
  box is re-centred on the face's own landmarks so that it does not drift;
* the landmark predictor
  (:class:`fersk.landmarks.dlib_backend.DlibLandmarker`) places the 68 or 5
  points on every returned face, every frame.

The detector is the expensive step: at 640x360 on one CPU core, a YuNet
detection (the default detector) costs about 4 ms, a HOG detection about
14 ms, a tracked frame about 6.5 ms per face (correlation tracker and 68
landmarks), so ``detect_every`` trades cost for how soon a new face is
picked up.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator

from .._core._sklearn_compat import Interval, StrOptions
from ..io import ImageReadError, describe_source, read_image
from ..landmarks.detection import DEFAULT_DETECTOR, DETECTORS, detect_faces, keep_faces
from .boxes import box_centre, box_iou, box_size, inside_fraction, landmark_frame, patch, similarity

__all__ = ["FaceTracker", "Track", "box_iou"]

#: A face whose box keeps less than this fraction of its area inside the frame
#: has left the image: its track is lost.
MIN_INSIDE_FRACTION = 0.5
#: A lost track may take a detection whose centre lies within this many of
#: its last box widths of that box's centre (even when the boxes barely overlap).
REACQUIRE_DISTANCE = 0.5
#: Landmarks disagree with the tracked box ("degenerate") when the box they
#: imply is this many times larger or smaller than it...
MAX_SCALE_CHANGE = 1.6
#: ...or its centre is more than this many box widths away.
MAX_CENTRE_SHIFT = 0.4
#: Two followed faces whose boxes overlap more than this are one face twice:
#: the younger track is dropped to lost.
DUPLICATE_IOU = 0.6
#: How many detection frames the box-from-landmarks relation is the median of.
RELATION_HISTORY = 5


@dataclass(frozen=True, eq=False)
class Track:
    """One face in one frame, as returned by :meth:`FaceTracker.update`.

    Attributes
    ----------
    id : int
        Track id: stable across frames and across short detection gaps;
        ids increase from 0 and are never reused within a stream.
    box : ndarray of shape (4,)
        ``left, top, right, bottom`` in frame pixels (floats; may extend past
        the frame's border).
    landmarks : ndarray of shape (n_landmarks, 2)
        ``x, y`` of each point in frame pixels.
    score : float
        The detector's score when the face was detected in this frame, else
        the correlation tracker's quality (peak-to-sidelobe ratio).
    detected : bool
        Whether ``box`` comes from the detector in this frame (``False``: the
        face was followed by the tracker).
    age : int
        Frames since the track started (0 on its first frame).

    Examples
    --------
    >>> import numpy as np
    >>> t = Track(id=3, box=np.array([10.0, 20, 90, 100]), landmarks=np.zeros((5, 2)),
    ...           score=1.2, detected=True, age=0)
    >>> t.id, t.box.tolist(), t.landmarks.shape
    (3, [10.0, 20.0, 90.0, 100.0], (5, 2))
    """

    id: int
    box: np.ndarray
    landmarks: np.ndarray
    score: float
    detected: bool
    age: int


@dataclass
class _State:
    """A track's running state (internal)."""

    id: int
    start: int
    box: np.ndarray
    landmarks: np.ndarray
    score: float
    detected: bool
    tracker: Any
    live: bool = True
    missed: int = 0
    # (dx, dy, width, height) of the detector box, in units of the
    # landmarks' spread, relative to the landmarks' centre.
    relation: deque = field(default_factory=lambda: deque(maxlen=RELATION_HISTORY))

    def as_track(self, frame_index: int) -> Track:
        box = self.box.copy()
        landmarks = self.landmarks.copy()
        box.setflags(write=False)
        landmarks.setflags(write=False)
        return Track(
            id=self.id,
            box=box,
            landmarks=landmarks,
            score=float(self.score),
            detected=bool(self.detected),
            age=frame_index - self.start,
        )


class FaceTracker(BaseEstimator):
    """Follow the faces of a video stream: a box, a stable id and landmarks per face per frame.

    Feed frames one at a time to :meth:`update`; each call returns the faces
    visible in that frame as :class:`Track` objects.

    * **Detect every N frames or on loss.** The detector runs on the first
      frame, then every ``detect_every`` frames, and also on any frame where a
      followed face was lost: the box left the image (less than half of it
      inside), the landmarks disagree with the box (non-finite, or the box
      they imply is 1.6 times larger or smaller, or shifted by 0.4 box
      widths), or (``follow="correlation"``) the correlation tracker's
      quality fell below ``min_quality``. A face that enters the view is
      picked up at the next detection.
    * **Follow between detections.** ``follow="landmarks"`` (default): the
      landmark model is run in the face's previous box, and the box moves to
      where the landmarks put it: their centroid and spread (RMS distance
      from the centroid), mapped to a box by the median relation between the
      detector's boxes and the landmarks over the track's last 5 detections,
      so the box keeps the detector's size and position relative to the face
      instead of drifting. The landmarks, needed every frame anyway, are the
      tracker: nothing else runs. ``follow="correlation"``: dlib's correlation
      tracker moves the box first (robust to faster motion, about 7 ms a face
      at 480 px on one core), and with ``refine_with_landmarks=True`` the box
      is then re-centred on the landmarks as above.
    * **Association.** On detection frames, detections are matched to tracks
      by IoU with scipy's ``linear_sum_assignment`` (a pair needs an IoU of at
      least ``iou_threshold``). A track without a match is *lost*: it is not
      returned, but for up to ``max_missed`` frames it can take a later
      detection that overlaps its last box or whose centre lies within half
      a box width of it, and keep its id (a face briefly hidden, turned away
      or missed by the detector). Detections left over start new tracks with
      the next id: ids increase from 0 and are never reused.
    * **Odd frames never crash.** ``None``, an empty array, an array of an
      unsupported shape or dtype (NaN pixels, booleans) is a frame without
      faces: ``update`` returns ``[]`` and every track misses that frame.
      Float and 16-bit frames are converted with :func:`fersk.io.to_uint8`,
      RGBA loses its alpha. A frame of a different size than the previous one
      restarts tracking (all tracks end; ids keep increasing). Only a
      non-array input raises (:class:`TypeError`).

    Parameters
    ----------
    n_landmarks : int, default=68
        Points per face: 68 or 5 with the shipped dlib predictors (or what
        ``predictor_path``'s model gives).
    detector : {"yunet", "hog", "mmod", "none"}, default="yunet"
        See :data:`fersk.landmarks.detection.DETECTORS`; ``"none"`` takes the
        whole frame as the one face (videos of face crops). Which detections
        are faces follows the detector's thresholds
        (:data:`fersk.landmarks.detection.FACE_THRESHOLDS`).
    detect_every : int, default=5
        Run the detector every this many frames (1: on every frame).
    upsample : int, default=0
        Finds smaller faces, about 4x the cost per step (see
        :func:`fersk.landmarks.detection.detect_faces`): HOG doubles the
        frame; YuNet sees it at up to 320 px (640 with 1, ...).
    detection_threshold : float, default=0.0
        Added to the detector's own minimum score (0 for dlib's, 0.6 for
        YuNet's).
    follow : {"landmarks", "correlation"}, default="landmarks"
        How a face is followed between detections (see above).
    min_similarity : float, default=0.5
        ``follow="landmarks"``: a followed face whose gray patch (24x24,
        normalised) correlates less than this with its patch at the last
        detection is lost (it left, or something covers it). The track's
        ``score`` between detections is this correlation.
    min_quality : float, default=7.0
        ``follow="correlation"``: minimum correlation-tracker quality
        (peak-to-sidelobe ratio); below it a followed face is lost. A face
        typically scores 15-30, clutter around 5.
    iou_threshold : float, default=0.3
        Minimum IoU for a detection to continue a track.
    max_missed : int, default=25
        Frames a lost track is kept for re-association before it ends.
    max_faces : int or None, default=None
        Keep at most this many faces (the largest detections).
    refine_with_landmarks : bool, default=True
        ``follow="correlation"``: re-centre tracked boxes on the landmarks.
    predictor_path : str or path-like, default=None
        A dlib shape predictor file to use instead of the shipped one.
    backend : {"dlib", "face_alignment"}, default="dlib"
        The landmark model, as in :class:`~fersk.LandmarkExtractor`
        (``weights`` and ``device`` are its FAN settings).
    weights : str or path-like, default=None
    device : str, default="auto"

    Use :meth:`from_extractor` to track with the landmark settings of a
    fitted pipeline's :class:`~fersk.LandmarkExtractor`.

    Attributes
    ----------
    n_frames_ : int
        Frames seen (including unusable ones).
    n_detections_ : int
        Detector runs so far.
    n_skipped_frames_ : int
        Unusable frames (``None``, empty, unsupported shape or dtype).
    last_skip_reason_ : str or None
        Why the last unusable frame was skipped.
    frame_shape_ : tuple of int or None
        ``(height, width)`` of the frames being tracked.

    See Also
    --------
    fersk.landmarks.detection.detect_faces : The detector.
    fersk.landmarks.dlib_backend.DlibLandmarker : The landmark predictor.

    Examples
    --------
    A face pasted into a black 640x360 frame, moving 4 pixels a frame:

    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> face = astronaut()[40:220, 140:310]
    >>> tracker = FaceTracker(detect_every=5)
    >>> for i in range(10):
    ...     frame = np.zeros((360, 640, 3), dtype=np.uint8)
    ...     frame[100:280, 100 + 4 * i : 270 + 4 * i] = face
    ...     tracks = tracker.update(frame)
    >>> [(t.id, t.detected, t.age, t.landmarks.shape) for t in tracks]
    [(0, False, 9, (68, 2))]
    >>> tracker.n_detections_  # frames 0 and 5
    2
    >>> tracker.update(None)  # an unusable frame: no faces
    []
    """

    _parameter_constraints: dict = {
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "detector": [StrOptions(set(DETECTORS))],
        "detect_every": [Interval(Integral, 1, None, closed="left")],
        "upsample": [Interval(Integral, 0, None, closed="left")],
        "detection_threshold": [Interval(Real, None, None, closed="neither")],
        "follow": [StrOptions({"landmarks", "correlation"})],
        "min_similarity": [Interval(Real, -1, 1, closed="both")],
        "min_quality": [Interval(Real, None, None, closed="neither")],
        "iou_threshold": [Interval(Real, 0, 1, closed="both")],
        "max_missed": [Interval(Integral, 0, None, closed="left")],
        "max_faces": [None, Interval(Integral, 1, None, closed="left")],
        "refine_with_landmarks": ["boolean"],
        "predictor_path": [None, str, os.PathLike],
        "backend": [StrOptions({"dlib", "face_alignment"})],
        "weights": [None, str, os.PathLike],
        "device": [str],
    }

    def __init__(
        self,
        n_landmarks: int = 68,
        *,
        detector: str = DEFAULT_DETECTOR,
        detect_every: int = 5,
        upsample: int = 0,
        detection_threshold: float = 0.0,
        follow: str = "landmarks",
        min_similarity: float = 0.5,
        min_quality: float = 7.0,
        iou_threshold: float = 0.3,
        max_missed: int = 25,
        max_faces: int | None = None,
        refine_with_landmarks: bool = True,
        predictor_path: str | os.PathLike | None = None,
        backend: str = "dlib",
        weights: str | os.PathLike | None = None,
        device: str = "auto",
    ) -> None:
        self.n_landmarks = n_landmarks
        self.detector = detector
        self.detect_every = detect_every
        self.upsample = upsample
        self.detection_threshold = detection_threshold
        self.follow = follow
        self.min_similarity = min_similarity
        self.min_quality = min_quality
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.max_faces = max_faces
        self.refine_with_landmarks = refine_with_landmarks
        self.predictor_path = predictor_path
        self.backend = backend
        self.weights = weights
        self.device = device

    @classmethod
    def from_extractor(cls, extractor, **params) -> FaceTracker:
        """A tracker placing the landmarks ``extractor`` would place, on every face.

        The extractor's landmark model (``n_landmarks``, ``backend``,
        ``predictor_path``, ``weights``, ``device``) and detection settings
        (``detector``, ``upsample``, ``detection_threshold``) are used, so a
        model sees in a video the landmarks it was trained on. An extractor
        with ``detector="none"`` (trained on face crops) gets the default
        detector (:data:`fersk.landmarks.detection.DEFAULT_DETECTOR`, whose
        boxes are framed as HOG's): a video frame is not a face crop.
        ``params`` set the tracker's own options (``detect_every``,
        ``max_faces``, ...) or override these.

        Examples
        --------
        >>> from fersk import LandmarkExtractor
        >>> tracker = FaceTracker.from_extractor(
        ...     LandmarkExtractor(5, detector="none", upsample=1), detect_every=3)
        >>> tracker.n_landmarks, tracker.detector, tracker.upsample, tracker.detect_every
        (5, 'yunet', 1, 3)
        """
        settings = {
            "n_landmarks": int(extractor.n_landmarks),
            "detector": DEFAULT_DETECTOR if extractor.detector == "none" else extractor.detector,
            "upsample": int(extractor.upsample),
            "detection_threshold": float(extractor.detection_threshold),
            "predictor_path": extractor.predictor_path,
            "backend": extractor.backend,
            "weights": extractor.weights,
            "device": extractor.device,
        }
        settings.update({k: v for k, v in params.items() if v is not None})
        return cls(**settings)

    # ------------------------------------------------------------------ public

    def reset(self) -> None:
        """Forget every track and start a new stream (ids start again at 0).

        Parameters are validated when a stream starts (here, or on the first
        :meth:`update`); :meth:`set_params` in the middle of a stream takes
        effect on the next frame without being validated again.

        Examples
        --------
        >>> import numpy as np
        >>> tracker = FaceTracker()
        >>> tracker.update(np.zeros((60, 80), dtype=np.uint8))
        []
        >>> tracker.reset()
        >>> tracker.n_frames_, tracker.n_detections_
        (0, 0)
        """
        self._validate_params()
        from ..landmarks import LandmarkExtractor

        # The landmark model on given boxes: the extractor's own per-image code.
        self._landmarker = LandmarkExtractor(
            self.n_landmarks,
            backend=self.backend,
            detector="none",
            predictor_path=self.predictor_path,
            weights=self.weights,
            device=self.device,
        )._landmarker()
        self._tracks: list[_State] = []
        self._next_id = 0
        self._frame_index = 0
        self._since_detection = 0
        self._pending_loss = False
        self.n_frames_ = 0
        self.n_detections_ = 0
        self.n_skipped_frames_ = 0
        self.last_skip_reason_: str | None = None
        self.frame_shape_: tuple[int, int] | None = None

    def update(self, frame: np.ndarray | None) -> list[Track]:
        """Process the next frame; return the faces visible in it, by increasing id.

        Parameters
        ----------
        frame : ndarray of shape (H, W), (H, W, 3) or (H, W, 4), or None
            Grayscale, RGB or RGBA; ``uint8``, ``uint16`` or float (see
            :func:`fersk.io.to_uint8`). ``None`` or an unusable array is a
            frame without faces.

        Returns
        -------
        list of Track
            The live tracks in this frame; lost tracks are not returned.

        Raises
        ------
        TypeError
            If ``frame`` is neither an array nor ``None``.
        """
        gray, problem = self._prepare(frame)
        if not hasattr(self, "_tracks"):
            self.reset()
        self._frame, self._rgb = frame, None
        index = self._frame_index
        self._frame_index += 1
        self.n_frames_ += 1
        self._since_detection += 1

        if gray is None:
            self.n_skipped_frames_ += 1
            self.last_skip_reason_ = problem
            for state in self._tracks:
                self._pending_loss = self._pending_loss or state.live
                state.live = False
            self._end_frame()
            return []

        shape = (int(gray.shape[0]), int(gray.shape[1]))
        new_shape = shape != self.frame_shape_
        if new_shape:  # another stream, or a resized one: the old boxes mean nothing here
            self._tracks = []
            self.frame_shape_ = shape

        scheduled = new_shape or self.n_detections_ == 0
        scheduled = scheduled or self._since_detection >= self.detect_every
        # Faces lost on an unusable frame are looked for on the next usable one.
        scheduled = scheduled or self._pending_loss
        # On a scheduled detection frame the landmarks are placed after
        # association, so the tracker only predicts where each face moved.
        lost_now = False
        for state in self._tracks:
            if state.live:
                followed = self._follow(state, gray, with_landmarks=not scheduled)
                lost_now = lost_now or not followed
        lost_now = self._drop_duplicates() or lost_now

        if scheduled or lost_now:
            self._detect(gray, index)
        self._end_frame()
        return [state.as_track(index) for state in self._tracks if state.live]

    # ---------------------------------------------------------------- internal

    @staticmethod
    def _prepare(frame: object) -> tuple[np.ndarray | None, str | None]:
        """Return the frame as contiguous uint8 grayscale, or ``None`` and why not."""
        if frame is None:
            return None, "frame is None"
        if not isinstance(frame, np.ndarray):
            raise TypeError(
                "FaceTracker.update expects a frame as a numpy array of shape (H, W), "
                f"(H, W, 3) or (H, W, 4), or None; got {type(frame).__name__}"
            )
        try:
            return np.ascontiguousarray(read_image(frame, color="gray")), None
        except ImageReadError as err:
            return None, f"frame {describe_source(frame)}: {err}"

    def _landmarks(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        if self._landmarker.color == "rgb":  # FAN reads colour
            if self._rgb is None:
                self._rgb = read_image(self._frame, color="rgb")
            return self._landmarker.predict(self._rgb, box)
        return self._landmarker.predict(gray, box)

    def _box_from_landmarks(self, state: _State, points: np.ndarray) -> np.ndarray:
        centre, spread = landmark_frame(points)
        if not state.relation:  # no usable detection yet: nothing to map the landmarks with
            return np.full(4, np.nan)
        dx, dy, width, height = np.median(np.asarray(state.relation), axis=0)
        cx, cy = centre[0] + dx * spread, centre[1] + dy * spread
        half_w, half_h = width * spread / 2, height * spread / 2
        return np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h])

    @staticmethod
    def _learn_relation(state: _State, box: np.ndarray, points: np.ndarray) -> None:
        """Record where the detector's box sits relative to the landmarks."""
        centre, spread = landmark_frame(points)
        if not (np.isfinite(spread) and spread > 1e-6):
            return
        width, height = box_size(box)
        offset = (box_centre(box) - centre) / spread
        state.relation.append((offset[0], offset[1], width / spread, height / spread))

    def _new_tracker(self, gray: np.ndarray, box: np.ndarray):
        if self.follow == "landmarks":
            return patch(gray, box)  # the face's appearance at its detection
        import dlib

        tracker = dlib.correlation_tracker()
        tracker.start_track(gray, dlib.drectangle(*(float(v) for v in box)))
        return tracker

    def _follow(self, state: _State, gray: np.ndarray, *, with_landmarks: bool) -> bool:
        """Move a live track to this frame; False if it was lost."""
        if self.follow == "landmarks":
            return self._follow_landmarks(state, gray, with_landmarks=with_landmarks)
        return self._follow_correlation(state, gray, with_landmarks=with_landmarks)

    def _follow_landmarks(self, state: _State, gray: np.ndarray, *, with_landmarks: bool) -> bool:
        """Place the landmarks in the previous box; the box follows them. False if lost.

        The shape predictor's cascade starts from its mean face in the box and
        converges on the face as long as the face stays mostly inside it (a
        face moves a few percent of its size per frame at video rates); the
        box they imply (the detector's box relative to the landmarks, learned
        at detections) is where to look in the next frame. A frame with a
        scheduled detection keeps the box: the detector decides.
        """
        if not with_landmarks:
            return True
        box = state.box
        points = self._landmarks(gray, box)
        implied = self._box_from_landmarks(state, points)
        ok = self._consistent(implied, box)
        ok = ok and inside_fraction(implied, gray.shape) >= MIN_INSIDE_FRACTION
        # The landmark model finds "a face" in any box: the face must still look
        # like the one detected (normalised correlation of small gray patches).
        likeness = similarity(state.tracker, patch(gray, implied)) if ok else -1.0
        if not (ok and likeness >= self.min_similarity):
            state.live = False
            return False
        state.box, state.landmarks = implied, points
        state.score, state.detected = likeness, False
        return True

    def _follow_correlation(self, state: _State, gray: np.ndarray, *, with_landmarks: bool) -> bool:
        """Move a live track with dlib's correlation tracker (boxes re-centred on landmarks)."""
        import dlib

        quality = state.tracker.update(gray, dlib.drectangle(*(float(v) for v in state.box)))
        position = state.tracker.get_position()
        box = np.array([position.left(), position.top(), position.right(), position.bottom()])
        ok = bool(np.isfinite(quality) and quality >= self.min_quality)
        ok = ok and bool(np.isfinite(box).all())
        ok = ok and inside_fraction(box, gray.shape) >= MIN_INSIDE_FRACTION
        points = state.landmarks
        if ok and with_landmarks:
            points = self._landmarks(gray, box)
            implied = self._box_from_landmarks(state, points)
            ok = self._consistent(implied, box)
            if ok and self.refine_with_landmarks:
                box = implied
                ok = inside_fraction(box, gray.shape) >= MIN_INSIDE_FRACTION
        if not ok:
            state.live = False
            return False
        state.box, state.landmarks = box, points
        state.score, state.detected = float(quality), False
        return True

    @staticmethod
    def _consistent(implied: np.ndarray, box: np.ndarray) -> bool:
        """Whether the box the landmarks imply agrees with the tracked box."""
        if not np.isfinite(implied).all():
            return False
        width, height = box_size(box)
        imp_width, imp_height = box_size(implied)
        if not (imp_width > 0 and imp_height > 0 and width > 0 and height > 0):
            return False
        scale = np.sqrt(imp_width * imp_height / (width * height))
        if not (1 / MAX_SCALE_CHANGE <= scale <= MAX_SCALE_CHANGE):
            return False
        shift = np.linalg.norm(box_centre(implied) - box_centre(box))
        return bool(shift <= MAX_CENTRE_SHIFT * width)

    def _drop_duplicates(self) -> bool:
        """Two live tracks on one face: the younger one is lost. True if any was."""
        live = [s for s in self._tracks if s.live]
        if len(live) < 2:
            return False
        overlap = box_iou(np.array([s.box for s in live]), np.array([s.box for s in live]))
        dropped = False
        for i in range(len(live)):  # live is in increasing id order: older first
            if not live[i].live:
                continue
            for j in range(i + 1, len(live)):
                if live[j].live and overlap[i, j] > DUPLICATE_IOU:
                    live[j].live = False
                    dropped = True
        return dropped

    def _detect(self, gray: np.ndarray, index: int) -> None:
        """Run the detector and associate its boxes with the tracks."""
        self.n_detections_ += 1
        self._since_detection = 0
        self._pending_loss = False
        boxes, scores = detect_faces(gray, self.detector, self.upsample, self.detection_threshold)
        boxes, scores = keep_faces(boxes, scores, self.max_faces, detector=self.detector)

        matches = self._associate(boxes)
        matched_tracks = set(matches.values())
        for state in self._tracks:
            if state.live and id(state) not in matched_tracks:
                state.live = False  # the detector did not confirm it
        by_id = {id(s): s for s in self._tracks}
        n_live = len(matches)
        for k, (box, score) in enumerate(zip(boxes, scores)):
            if k in matches:
                state = by_id[matches[k]]
                state.tracker = self._new_tracker(gray, box)
            elif self.max_faces is None or n_live < self.max_faces:
                state = _State(
                    id=self._next_id,
                    start=index,
                    box=box,
                    landmarks=np.empty((0, 2)),
                    score=float(score),
                    detected=True,
                    tracker=self._new_tracker(gray, box),
                )
                self._next_id += 1
                self._tracks.append(state)
                n_live += 1
            else:
                continue
            state.box, state.score, state.detected = box.copy(), float(score), True
            state.live, state.missed = True, 0
            state.landmarks = self._landmarks(gray, box)
            self._learn_relation(state, box, state.landmarks)

    def _associate(self, boxes: np.ndarray) -> dict[int, int]:
        """Match detections to tracks (live or lost); return {detection: id(track state)}."""
        candidates = self._tracks
        if len(boxes) == 0 or not candidates:
            return {}
        track_boxes = np.array([s.box for s in candidates])
        lost = np.array([not s.live for s in candidates])
        overlap = box_iou(boxes, track_boxes)
        widths = np.maximum(track_boxes[:, 2] - track_boxes[:, 0], 1.0)
        centres = (track_boxes[:, :2] + track_boxes[:, 2:]) / 2
        det_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        distance = np.linalg.norm(det_centres[:, None] - centres[None], axis=2) / widths
        allowed = (overlap >= self.iou_threshold) | (lost & (distance <= REACQUIRE_DISTANCE))
        # Prefer overlap, then nearness; a followed face beats a lost one.
        cost = (1.0 - overlap) + distance + 0.5 * lost
        cost = np.where(allowed, cost, 1e6)
        rows, cols = linear_sum_assignment(cost)
        return {int(r): id(candidates[c]) for r, c in zip(rows, cols) if allowed[r, c]}

    def _end_frame(self) -> None:
        """Count a missed frame for every lost track; end those past ``max_missed``."""
        for state in self._tracks:
            state.missed = 0 if state.live else state.missed + 1
        self._tracks = [s for s in self._tracks if s.missed <= self.max_missed]

    def __getstate__(self) -> dict:
        # dlib's trackers cannot be pickled: a pickled tracker starts a new stream.
        state = super().__getstate__()
        for key in [k for k in state if k.startswith("_") and not k.startswith("__")]:
            if key != "_sklearn_version":
                del state[key]
        for key in [k for k in state if k.endswith("_") and not k.startswith("_")]:
            del state[key]
        return state
