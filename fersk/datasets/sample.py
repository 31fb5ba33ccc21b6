"""Compatibility module: the sample faces and clips now live in :mod:`fersk.datasets.synthetic`.

Re-exports :func:`~fersk.datasets.synthetic.faces.make_sample_faces`,
:func:`~fersk.datasets.synthetic.clips.make_sample_clips` and
:data:`~fersk.datasets.synthetic.expressions.SAMPLE_EMOTIONS` under their
old import path; import them from :mod:`fersk.datasets` (or
:mod:`fersk.datasets.synthetic`) in new code.
"""

from __future__ import annotations

from .synthetic import SAMPLE_EMOTIONS, make_sample_clips, make_sample_faces

__all__ = ["SAMPLE_EMOTIONS", "make_sample_clips", "make_sample_faces"]
