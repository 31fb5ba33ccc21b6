"""fersk._core.version: the one place fersk's version is written."""

from __future__ import annotations

import re

import fersk
from fersk._core.version import __version__


def test_the_package_reports_the_version_written_here_in_pep_440_form():
    assert fersk.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", __version__)
