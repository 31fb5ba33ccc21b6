"""fersk: scikit-learn-compatible facial emotion recognition.

Landmark geometry, clarity-stratified classifiers and friends, as ordinary
scikit-learn estimators.
"""

from .clarity import ClarityBinner, laplacian_variance
from .geometry import PairwiseDistance
from .landmarks import LandmarkExtractor
from .routing import ClarityRoutedClassifier

__version__ = "0.1.0"

__all__ = [
    "ClarityBinner",
    "ClarityRoutedClassifier",
    "LandmarkExtractor",
    "PairwiseDistance",
    "__version__",
    "laplacian_variance",
]
