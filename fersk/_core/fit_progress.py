"""Progress bars for scikit-learn fits that report progress only by printing.

``MLPClassifier(verbose=True)`` prints ``Iteration N, loss = ...`` once an
epoch, and ``GridSearchCV(verbose=2)`` prints ``[CV] END ...`` once a fit.
:func:`printed_progress` turns such lines into one tqdm bar on stderr and
passes every other printed line through unchanged, so a long fit shows that it
is moving without flooding the terminal. ``fersk train`` uses it for the
classifier's epochs and for the candidates of ``--tune``;
:func:`verbose_mlps` switches the MLPs of a pipeline to printing for the
duration of a fit.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator

from tqdm.auto import tqdm

__all__ = ["MLP_EPOCH", "MLP_QUIET", "SEARCH_FIT", "printed_progress", "verbose_mlps"]

#: ``MLPClassifier(verbose=True)``'s line per epoch (the loss is shown on the bar).
MLP_EPOCH = r"^Iteration (?P<epoch>\d+), loss = (?P<loss>[-+0-9.eE]+)"
#: The MLP's other lines (validation scores, the early-stopping notice), swallowed.
MLP_QUIET = r"^Validation score|did not improve|Stopping\."
#: ``GridSearchCV(verbose=2)``'s line per finished fit.
SEARCH_FIT = r"^\[CV\] END"


class _LineProgress(io.TextIOBase):
    """A text stream that counts matching lines on a bar and passes the others on."""

    def __init__(self, pattern, drop, bar_kwargs: dict, passthrough) -> None:
        self.pattern, self.drop = pattern, drop
        self.bar_kwargs, self.passthrough = bar_kwargs, passthrough
        self.bar: tqdm | None = None
        self.count = 0
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        match = self.pattern.search(line)
        if match:
            self.count += 1
            info = {k: v for k, v in match.groupdict().items() if v is not None}
            if self.bar is None:  # created on the first match: quiet until the fit starts
                self.bar = tqdm(file=sys.stderr, leave=False, initial=1, **self.bar_kwargs)
            else:
                self.bar.update(1)
            if info:
                self.bar.set_postfix(info)
        elif self.passthrough is not None and not (self.drop and self.drop.search(line)):
            # Clear the bar (on stderr) while the line is written, then redraw it.
            with tqdm.external_write_mode(file=sys.stderr):
                self.passthrough.write(line + "\n")

    def flush(self) -> None:
        """Nothing: a line is counted or passed on once it is whole."""

    def close_bar(self) -> None:
        if self._pending:  # an unfinished last line
            line, self._pending = self._pending, ""
            self._line(line)
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def printed_progress(
    pattern: str,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    drop: str | None = None,
) -> Iterator[_LineProgress]:
    """Count lines printed to stdout that match ``pattern`` on a tqdm bar (stderr).

    Parameters
    ----------
    pattern : str
        A regular expression searched in each printed line; a match advances
        the bar by one, and its named groups are shown on the bar.
    desc, total, unit : str, int or None, str
        The bar's label, length (``None``: a count without an end, for fits
        that may stop early) and unit.
    drop : str or None
        A regular expression for printed lines to swallow (e.g. the MLP's
        ``Validation score`` lines); every other line is passed through to the
        original stdout.

    Yields
    ------
    stream
        The redirected stream; its ``count`` is the number of matched lines.

    See Also
    --------
    verbose_mlps : make a pipeline's MLPs print their epochs.
    fersk._core.batch.progress_bar : the bar of per-image work.

    Examples
    --------
    >>> with printed_progress(r"^step", desc="demo", unit="step") as stream:
    ...     for i in range(3):
    ...         print(f"step {i}")
    ...     print("other lines pass through")
    other lines pass through
    >>> stream.count
    3
    """
    stream = _LineProgress(
        re.compile(pattern),
        re.compile(drop) if drop else None,
        {"desc": desc, "total": total, "unit": unit},
        sys.stdout,
    )
    try:
        with contextlib.redirect_stdout(stream):
            yield stream
    finally:
        stream.close_bar()


@contextlib.contextmanager
def verbose_mlps(estimator) -> Iterator[int]:
    """Make every ``MLPClassifier`` in ``estimator`` print its epochs, for a fit.

    On exit, the MLPs get their own setting back (the fitted copies a
    meta-estimator made of them are quiet), so a saved model does not print.

    Parameters
    ----------
    estimator : estimator
        The model to fit; its ``MLPClassifier`` instances are found with
        :func:`fersk._core.pipeline_tools.iter_estimators` (templates included).

    Yields
    ------
    int
        How many MLPs were switched (0: no epoch lines will come).

    See Also
    --------
    printed_progress : turn the printed epochs into a bar.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> pipe = make_pipeline(MLPClassifier())
    >>> with verbose_mlps(pipe) as n:
    ...     n, pipe[-1].verbose
    (1, True)
    >>> pipe[-1].verbose
    False
    """
    from sklearn.neural_network import MLPClassifier

    from .pipeline_tools import iter_estimators

    def mlps():
        return [
            e for e in iter_estimators(estimator, templates=True) if isinstance(e, MLPClassifier)
        ]

    found = mlps()
    before = {id(mlp): mlp.verbose for mlp in found}
    for mlp in found:
        mlp.verbose = True
    try:
        yield len(found)
    finally:
        for mlp in mlps():  # the fitted copies too, which were made verbose by their template
            mlp.verbose = before.get(id(mlp), False)
