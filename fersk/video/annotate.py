"""Draw the stream's per-face results onto frames (boxes, labels, motion)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["annotate_frame"]

_GREEN, _ORANGE, _WHITE = (60, 200, 60), (255, 150, 0), (255, 255, 255)


def annotate_frame(image: np.ndarray, rows: Sequence[dict]) -> np.ndarray:
    """Return a copy of an RGB frame with each face's box, track id, label and motion flag.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        RGB uint8 frame.
    rows : sequence of dict
        The stream's rows for this frame (``face_found``, ``track``, ``x0``..``y1``,
        ``label``, ``confidence``, ``motion``).

    Returns
    -------
    ndarray
        The annotated RGB frame.

    Examples
    --------
    >>> import numpy as np
    >>> row = {"face_found": True, "track": 0, "x0": 2, "y0": 2, "x1": 20, "y1": 20,
    ...        "label": "happiness", "confidence": 0.9, "motion": True}
    >>> out = annotate_frame(np.zeros((40, 60, 3), np.uint8), [row])
    >>> out.shape, bool(out.any())
    ((40, 60, 3), True)
    """
    out = np.ascontiguousarray(image).copy()
    for row in rows:
        if not row.get("face_found"):
            continue
        x0, y0, x1, y1 = (int(round(row[k])) for k in ("x0", "y0", "x1", "y1"))
        colour = _ORANGE if row.get("motion") else _GREEN
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 2)
        text = f"#{row['track']} {row.get('label') or '...'}"
        if row.get("confidence") is not None and np.isfinite(row["confidence"]):
            text += f" {row['confidence']:.2f}"
        scale = max(0.4, (x1 - x0) / 250)
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y0 - h - 6)
        cv2.rectangle(out, (x0, top), (x0 + w + 4, top + h + 6), colour, -1)
        cv2.putText(out, text, (x0 + 2, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, _WHITE, 1)
    return out
