"""Reports with pictures: one Markdown file with its PNGs beside it, and one self-contained HTML.

:class:`Report` collects headings, paragraphs, tables and matplotlib figures,
then :meth:`Report.write` saves ``report.md`` (linking ``<name>.png`` files
written next to it) and ``report.html`` (the same, with every image embedded,
to open or send as a single file). ``fersk demo``, ``fersk evaluate --report``
and ``fersk video --report`` write theirs with it.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

__all__ = ["Report", "check_report_folder"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table.

    Examples
    --------
    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def check_report_folder(folder: str | os.PathLike | None, *, what: str = "report") -> None:
    """Check, before any work, that a report can be written as ``folder``.

    Parameters
    ----------
    folder : str, path-like or None
        The report's folder (new, or one :meth:`Report.write` replaces); None
        (no report) passes.
    what : str, default="report"
        How messages name it (``"--report"`` for a command line).

    Raises
    ------
    ValueError
        ``folder`` is a file, or matplotlib, which draws the report's
        pictures, is not installed.

    Examples
    --------
    >>> import tempfile
    >>> check_report_folder(tempfile.mkdtemp())
    >>> with tempfile.NamedTemporaryFile() as file:  # doctest: +ELLIPSIS
    ...     check_report_folder(file.name, what="--report")
    Traceback (most recent call last):
    ...
    ValueError: --report '...' is a file; give a folder
    """
    if folder is None:
        return
    if Path(folder).is_file():
        raise ValueError(f"{what} {os.fspath(folder)!r} is a file; give a folder")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ValueError(f"{what} draws pictures: pip install 'fersk[plot]'") from None


class Report:
    """A report being built: add parts in order, then :meth:`write` it.

    Parameters
    ----------
    title : str
        The report's top heading, and the HTML page's title.

    See Also
    --------
    fersk.evaluation.plot.plot_recall : A figure of per-class recalls, to add with :meth:`figure`.
    fersk.evaluation.plot.plot_confusion_matrix : A confusion matrix figure.
    fersk.io.AtomicOutput : How every file is written.

    Examples
    --------
    >>> import tempfile
    >>> from fersk.evaluation.plot import plot_recall
    >>> report = Report("demo")
    >>> report.text("Two models.")
    >>> report.table(["model", "WAR"], [["a", "0.50"], ["b", "0.70"]])
    >>> report.figure("recall", plot_recall({"a": {"happy": 0.5}, "b": {"happy": 0.7}}))
    >>> folder = report.write(tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['recall.png', 'report.html', 'report.md']
    >>> "data:image/png;base64," in (folder / "report.html").read_text()
    True
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[tuple[str, object]] = []

    def heading(self, text: str) -> None:
        """A section heading."""
        self._parts.append(("heading", text))

    def text(self, text: str) -> None:
        """A paragraph (plain text; Markdown inline code is kept as is)."""
        self._parts.append(("text", text))

    def table(self, header: list[str], rows: list[list]) -> None:
        """A table: a header row, then rows of cells (anything ``str`` can show)."""
        self._parts.append(("table", (list(header), [[str(c) for c in r] for r in rows])))

    def figure(self, name: str, fig, caption: str = "") -> None:
        """A matplotlib figure, saved as ``<name>.png`` (closed once rendered)."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        try:
            import matplotlib.pyplot as plt

            plt.close(fig)
        except ImportError:  # pragma: no cover
            pass
        self._parts.append(("figure", (name, buffer.getvalue(), caption)))

    def markdown(self) -> str:
        """The report as Markdown (figures as links to their PNG files)."""
        out = [f"# {self.title}", ""]
        for kind, value in self._parts:
            if kind == "heading":
                out += [f"## {value}", ""]
            elif kind == "text":
                out += [str(value), ""]
            elif kind == "table":
                out += [markdown_table(*value), ""]
            else:
                name, _, caption = value
                out += [f"![{caption or name}]({name}.png)", ""]
                if caption:
                    out += [f"*{caption}*", ""]
        return "\n".join(out)

    def html(self) -> str:
        """The report as one self-contained HTML page (images embedded)."""
        out = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
            "img{max-width:100%}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for kind, value in self._parts:
            if kind == "heading":
                out.append(f"<h2>{html.escape(str(value))}</h2>")
            elif kind == "text":
                out.append(f"<p>{html.escape(str(value))}</p>")
            elif kind == "table":
                header, rows = value
                out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header))
                for row in rows:
                    out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row))
                out.append("</table>")
            else:
                name, png, caption = value
                data = base64.b64encode(png).decode("ascii")
                out.append(
                    f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
                )
                if caption:
                    out.append(f"<figcaption>{html.escape(caption)}</figcaption>")
                out.append("</figure>")
        out.append("</body></html>")
        return "\n".join(out)

    def write(self, folder: str | os.PathLike, *, whole: bool = True) -> Path:
        """Write ``report.md``, its PNGs and ``report.html`` into ``folder``; return it.

        ``whole=True``: the folder is the report's. It is written beside the old
        one and swapped in at the end (:class:`fersk.io.AtomicFolder`), so an
        interrupted run leaves an earlier report as it was; a folder of other
        files is refused (it would be replaced). ``whole=False``: the report's
        files go into a folder that holds other outputs too (``fersk demo``'s),
        each written atomically.
        """
        from ..io import AtomicFolder, AtomicOutput

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is a file; a report is written as a folder")
        files = {"report.md": self.markdown().encode(), "report.html": self.html().encode()}
        for kind, value in self._parts:
            if kind == "figure":
                files[f"{value[0]}.png"] = value[1]
        if not whole:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                with AtomicOutput(folder / name) as tmp:
                    Path(tmp).write_bytes(data)
            return folder
        if folder.is_dir() and any(folder.iterdir()) and not (folder / "report.md").is_file():
            raise ValueError(
                f"{folder} is a folder of other files, not a report (which would replace them); "
                "give a new or empty folder"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)  # missing folders above are made
        with AtomicFolder(folder) as tmp:
            for name, data in files.items():
                Path(tmp, name).write_bytes(data)
        return folder
