"""A stream's outputs, checked before any work: the CSV and the annotated video."""

from __future__ import annotations

import os

from ..io import VIDEO_EXTENSIONS, check_output_path, is_video_file

__all__ = ["check_video_outputs"]


def check_video_outputs(
    source,
    *,
    csv_path: str | os.PathLike | None = None,
    annotate: str | os.PathLike | None = None,
    inputs: tuple = (),
    names: tuple[str, str] = ("csv_path", "annotate"),
) -> None:
    """Check a stream's outputs before any work: the one check of :meth:`VideoAnalyzer.run`.

    Refused (``ValueError`` naming the output and the path): an output that
    is a folder or in a missing folder, that is the source or one of
    ``inputs``, an annotated copy without a video extension, and both outputs
    the same file. :meth:`VideoAnalyzer.run` calls it before opening the
    source (``fersk video`` passes ``names=("--csv", "--annotate")``).

    Parameters
    ----------
    source : str, path, int or iterable
        The stream's source; a path is an input.
    csv_path, annotate : str or path-like, optional
        The outputs.
    inputs : tuple of paths, default=()
        Other files the outputs must never replace (the model's file or folder).
    names : (str, str), default=("csv_path", "annotate")
        How messages name the two outputs.

    Raises
    ------
    ValueError
        As above.

    Examples
    --------
    >>> check_video_outputs("clip.mp4", csv_path="clip.mp4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: csv_path 'clip.mp4' is the input 'clip.mp4'; writing it would destroy the input...
    """
    csv_name, annotate_name = names
    inputs = (*((source,) if isinstance(source, (str, os.PathLike)) else ()), *inputs)
    if csv_path is not None:
        check_output_path(csv_path, inputs=inputs, what=csv_name)
    if annotate is not None:
        check_output_path(annotate, inputs=inputs, what=annotate_name)
        if not is_video_file(annotate):
            raise ValueError(
                f"{annotate_name} {os.fspath(annotate)!r} must end in a video extension "
                f"({', '.join(sorted(VIDEO_EXTENSIONS))})"
            )
        if csv_path is not None and os.path.abspath(annotate) == os.path.abspath(csv_path):
            raise ValueError(
                f"{csv_name} and {annotate_name} are the same file {os.fspath(annotate)!r}; "
                "give two"
            )
