"""ClipLandmarkExtractor: clips in, per-frame landmark coordinates out (one row per clip)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from .._core._sklearn_compat import Interval, _fit_context
from .._core.base import ImageInputMixin, MissingFeaturesWarning
from .._core.batch import (
    Failure,
    SampleError,
    as_sample_list,
    progress_bar,
)
from .._core.layout import ClipLayout
from ..io.clips import ClipReadError, ClipSource, clip_name, read_indexed_frames
from .extractor import LandmarkExtractor

__all__ = ["ClipFailure", "ClipLandmarkExtractor"]

#: A chunk of clips sent to the frame extractor at once holds about this many frames...
CHUNK_FRAMES = 256
#: ...or this many bytes of decoded frames (video and array clips), whichever comes first.
CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ClipFailure(Failure):
    """A clip, or one frame of it, that gave NaN coordinates.

    Attributes
    ----------
    index : int
        Position of the clip in the batch (its row).
    source : str
        The frame (its path, or its position in the clip) or the clip.
    reason : str
        ``"no_face"`` or ``"unreadable"``.
    message : str
        The full explanation.
    frame : int or None
        Position of the frame among the clip's sampled frames (its block of
        the row), or ``None`` when the whole clip failed (its row is all NaN).
    """

    frame: int | None = None


class ClipLandmarkExtractor(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Landmarks of uniformly sampled frames of each clip: one row per clip.

    Each clip (a frame folder, a video file, an array ``(T, H, W[, C])`` or a
    list of frame paths/arrays; see :mod:`fersk.io.clips`) is sampled to
    ``n_frames`` frames spread uniformly over it; the frames of many clips go
    through one :class:`LandmarkExtractor` batch (so its cache, workers and
    detector apply), and each clip's coordinates are laid out frame-major in
    one row of ``n_frames * 2 * n_landmarks`` columns ``t0_x0, t0_y0, ...``
    (use :func:`fersk._core.layout.to_sequences` for the ``(n, T, L, 2)`` view).

    One row per clip, in input order. A frame without a face gives NaN in
    that frame's block only; a clip that cannot be read (a missing file, an
    undecodable video) gives an all-NaN row, or an error naming the clip when
    the extractor's ``on_failure="raise"``. ``failures_`` lists each failed
    frame with its clip and frame position, and a
    :class:`~fersk._core.base.MissingFeaturesWarning` says so (counting failed
    frames and clips out of ``n_clips * n_frames`` frame slots).

    The transformer is stateless (``fit`` only validates parameters). Video
    clips are decoded a chunk of a few hundred frames at a time, so memory
    stays bounded however long the batch.

    Parameters
    ----------
    extractor : LandmarkExtractor or None, default=None
        The per-frame extractor, whose settings (landmarks, backend,
        detector, ``memory``, ``n_jobs``, ``on_failure``, ``progress``,
        ``channel_order`` of array frames...) are used; it is cloned, never
        modified. ``None`` means ``LandmarkExtractor()``. Video frames are
        decoded to RGB (to BGR when its ``channel_order="bgr"``).
    n_frames : int, default=16
        Frames sampled per clip (frames repeat in shorter clips).

    Attributes
    ----------
    failures_ : list of ClipFailure
        Frames (``frame`` set) and clips (``frame=None``) of the last
        ``transform`` that gave NaN, ordered by clip then frame.
    n_failures_ : int
        ``len(failures_)``.

    See Also
    --------
    fersk.LandmarkExtractor : The per-frame extractor.
    fersk.MotionDelta : Motion features from the rows this transformer returns.
    fersk.SelectFrames : Some frames' landmarks of those rows.
    fersk.io.read_clip : A clip's uniformly sampled frames.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import astronaut
    >>> from fersk.landmarks import LandmarkExtractor
    >>> from fersk.landmarks.clip_extractor import ClipLandmarkExtractor
    >>> face = astronaut()[40:250, 120:330]
    >>> clip = np.stack([face, np.roll(face, 4, axis=1)])  # 2 frames, the face moves right
    >>> clips = ClipLandmarkExtractor(LandmarkExtractor(n_landmarks=5), n_frames=2)
    >>> X = clips.fit_transform([clip])
    >>> X.shape
    (1, 20)
    >>> clips.get_feature_names_out()[[0, 10]].tolist()
    ['t0_x0', 't1_x0']
    >>> bool(np.all(np.abs(X[0, 10::2] - X[0, 0:10:2] - 4) < 2))  # x moved by ~4 px
    True
    """

    _parameter_constraints: dict = {
        "extractor": [None, LandmarkExtractor],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, extractor: LandmarkExtractor | None = None, *, n_frames: int = 16) -> None:
        self.extractor = extractor
        self.n_frames = n_frames

    def _frame_extractor(self) -> LandmarkExtractor:
        self._validate_params()
        return LandmarkExtractor() if self.extractor is None else clone(self.extractor)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X=None, y=None):
        """Validate the parameters (and the extractor's); nothing is learned.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self
        """
        self._frame_extractor().fit()
        return self

    def _chunks(
        self,
        clips: list[ClipSource],
        on_failure: str,
        bgr: bool,
        failures: list[ClipFailure],
    ) -> Iterator[tuple[int, list, list[tuple[int, int, str]]]]:
        """Read clips in order; yield ``(n_clips_read, frames, owners)`` chunks.

        ``owners[k]`` is ``(clip index, frame position, source text)`` of
        ``frames[k]``. Unreadable clips are recorded in ``failures`` (or
        raise) and count as read. Decoded video frames (RGB) are flipped to
        BGR when the frame extractor expects ``bgr`` arrays.
        """
        frames: list = []
        owners: list[tuple[int, int, str]] = []
        n_read, n_bytes = 0, 0
        for i, clip in enumerate(clips):
            try:
                sampled, indices = read_indexed_frames(clip, self.n_frames)
            except ClipReadError as exc:
                if on_failure == "raise":
                    raise ClipReadError(f"clip {i}: {exc}") from exc
                failures.append(ClipFailure(i, clip_name(clip), "unreadable", str(exc), None))
                sampled, indices = [], []
            except TypeError as exc:  # not a clip at all: a programming error
                raise TypeError(f"clip {i}: {exc}") from exc
            is_video = isinstance(clip, str) or hasattr(clip, "__fspath__")
            for t, (frame, index) in enumerate(zip(sampled, indices)):
                if isinstance(frame, np.ndarray):
                    n_bytes += frame.nbytes
                    if is_video and bgr and frame.ndim == 3:
                        frame = frame[..., ::-1]
                    where = "" if index == t else f" (clip frame {index})"
                    text = f"frame {t}{where} of {clip_name(clip)}"
                else:
                    text = f"frame {t} {clip_name(frame)}"
                frames.append(frame)
                owners.append((i, t, text))
            n_read += 1
            if len(frames) >= CHUNK_FRAMES or n_bytes >= CHUNK_BYTES:
                yield n_read, frames, owners
                frames, owners, n_read, n_bytes = [], [], 0, 0
        if n_read:
            yield n_read, frames, owners

    def transform(self, X) -> np.ndarray:
        """Return per-frame landmarks, one row per clip.

        Parameters
        ----------
        X : sequence of clips
            Frame folders, video paths, arrays ``(T, H, W[, C])`` or lists of
            frame paths/arrays; also a stacked array ``(n, T, H, W[, C])``.

        Returns
        -------
        ndarray of float64, shape (n_clips, n_frames * 2 * n_landmarks)
        """
        frame_extractor = self._frame_extractor()
        on_failure = frame_extractor.on_failure
        progress = frame_extractor.progress
        bgr = frame_extractor.channel_order == "bgr"
        # Failures are mapped back to (clip, frame) and reported here, once.
        frame_extractor.set_params(on_failure="nan", progress=False)
        frame_extractor.set_output(transform="default")  # arrays, whatever the user's config
        clips = as_sample_list(X, kind="clip")
        n_clips, width = len(clips), 2 * int(frame_extractor.n_landmarks)
        rows = np.full((n_clips, self.n_frames * width), np.nan)
        blocks = rows.reshape(n_clips, self.n_frames, width)
        failures: list[ClipFailure] = []
        with progress_bar(
            n_clips, progress, desc="clip landmarks", unit="clip", n_items=n_clips * self.n_frames
        ) as bar:
            for n_read, frames, owners in self._chunks(clips, on_failure, bgr, failures):
                if frames:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", MissingFeaturesWarning)
                        coords = frame_extractor.transform(frames)
                    clip_index, frame_index = np.array([o[:2] for o in owners]).T
                    blocks[clip_index, frame_index] = coords
                    for failure in frame_extractor.failures_:
                        i, t, text = owners[failure.index]
                        if on_failure == "raise":
                            raise SampleError(f"clip {i} {text}: {failure.message}")
                        failures.append(ClipFailure(i, text, failure.reason, failure.message, t))
                bar.update(n_read)
        failures.sort(key=lambda f: (f.index, -1 if f.frame is None else f.frame))
        # A clip that could not be read at all covers all of its frame slots.
        sizes = [self.n_frames if f.frame is None else 1 for f in failures]
        self._record_failures(failures, n_clips * self.n_frames, unit="frames", sizes=sizes)
        return rows

    def layout(self) -> ClipLayout:
        """The layout of the rows this extractor returns (frames x landmarks x 2).

        Examples
        --------
        >>> from fersk.landmarks import LandmarkExtractor
        >>> ClipLandmarkExtractor(LandmarkExtractor(5), n_frames=8).layout()
        ClipLayout(n_frames=8, n_landmarks=5, n_dims=2)
        """
        n_landmarks = 68 if self.extractor is None else int(self.extractor.n_landmarks)
        return ClipLayout(int(self.n_frames), n_landmarks)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return ``t0_x0, t0_y0, ..., t{T-1}_y{L-1}``."""
        return self.layout().feature_names()

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
