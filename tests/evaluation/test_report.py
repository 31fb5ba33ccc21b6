"""fersk.evaluation.report: a report is one Markdown file with its pictures beside it and one
self-contained HTML page, written atomically."""

from __future__ import annotations

import base64

import pytest

from fersk.evaluation.report import Report, check_report_folder, markdown_table


def test_parts_come_out_in_order_in_markdown_and_in_html(tmp_path):
    report = Report("Results <v2>")
    report.heading("Models")
    report.text("Two models & one table.")
    report.table(["model", "WAR"], [["cnn", 0.5], ["<landmarks>", 0.7]])
    markdown = report.markdown()
    assert markdown.splitlines() == [
        "# Results <v2>", "", "## Models", "", "Two models & one table.", "",
        "| model | WAR |", "|---|---|", "| cnn | 0.5 |", "| <landmarks> | 0.7 |",
    ]  # fmt: skip
    page = report.html()
    assert "<title>Results &lt;v2&gt;</title>" in page and "<h2>Models</h2>" in page
    assert "<p>Two models &amp; one table.</p>" in page
    assert "<td>&lt;landmarks&gt;</td><td>0.7</td>" in page
    assert page.index("<h2>Models</h2>") < page.index("<p>Two") < page.index("<table>")
    folder = report.write(tmp_path / "new" / "report")  # missing folders are made
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.md"]
    assert (folder / "report.md").read_text() == markdown


def test_markdown_table_rows_line_up_with_the_header():
    table = markdown_table(["a", "b", "c"], [["1", "2", "3"], ["x", "", "z"]])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| 1 | 2 | 3 |", "| x |  | z |"]


def test_a_report_links_its_pictures_and_embeds_them(tmp_path):
    pytest.importorskip("matplotlib")
    from fersk.evaluation.plot import plot_recall

    report = Report("t")
    report.table(["a", "b"], [[1, 2]])
    report.figure("bars", plot_recall({"m": {"x": 0.5}}), "a caption")
    folder = report.write(tmp_path / "out")
    markdown = (folder / "report.md").read_text()
    assert "![a caption](bars.png)" in markdown and "| 1 | 2 |" in markdown
    assert (folder / "bars.png").read_bytes()[:4] == b"\x89PNG"
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "<td>1</td>" in page


def test_the_embedded_picture_is_the_png_beside_the_markdown(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    from fersk.evaluation.plot import plot_recall

    report = Report("t")
    figure = plot_recall({"m": {"x": 0.5}})
    report.figure("recall", figure)
    assert not plt.fignum_exists(figure.number)  # closed once rendered
    folder = report.write(tmp_path)
    png = (folder / "recall.png").read_bytes()
    page = (folder / "report.html").read_text()
    assert base64.b64encode(png).decode("ascii") in page
    assert "![recall](recall.png)" in (folder / "report.md").read_text()
    assert "<figcaption>" not in page  # no caption given, none shown


def test_a_report_folder_is_checked_before_any_work(tmp_path, monkeypatch):
    import builtins

    check_report_folder(None)  # no report: nothing to check
    check_report_folder(tmp_path / "new")
    assert not (tmp_path / "new").exists()  # checked, not made
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="^--report '.*file.txt' is a file; give a folder$"):
        check_report_folder(str(tmp_path / "file.txt"), what="--report")
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib":
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ValueError, match=r"^--report draws pictures: pip install 'fersk\[plot\]'$"):
        check_report_folder(tmp_path / "new", what="--report")
