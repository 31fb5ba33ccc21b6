"""Landmark layouts (moved to :mod:`fersk.layout`; these names keep working)."""

from ..layout import (
    EYE_CORNERS,
    FIVE_FROM_68,
    REGIONS_68,
    eye_centres,
    interocular_distance,
    landmark_feature_names,
)

__all__ = [
    "EYE_CORNERS",
    "FIVE_FROM_68",
    "REGIONS_68",
    "eye_centres",
    "interocular_distance",
    "landmark_feature_names",
]
