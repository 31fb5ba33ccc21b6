"""Image files: the image extensions, hidden names, natural order and the folder listing.

:data:`IMAGE_EXTENSIONS` is the one list of image extensions of the package,
and :func:`scan_image_files` (and :func:`list_image_files`, its file list) is
its one folder listing (the loaders, the CLI, clip frame folders): naturally
sorted, hidden files and ``__MACOSX`` passed over, and whatever a user could
expect to be read but is not (HEIC photos, FIFOs, broken links, unreadable
folders) named with the reason.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_DIGITS = re.compile(r"(\d+)", re.ASCII)
_IGNORED_DIRS = frozenset({"__MACOSX"})

__all__ = [
    "IMAGE_EXTENSIONS",
    "SKIPPED_IMAGE_EXTENSIONS",
    "is_hidden",
    "is_image_file",
    "list_folders",
    "list_image_files",
    "natural_sort_key",
    "natural_sorted",
    "scan_image_files",
]


IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".bmp",
        ".dib",
        ".gif",
        ".jpe",
        ".jpeg",
        ".jpg",
        ".pbm",
        ".pgm",
        ".png",
        ".pnm",
        ".ppm",
        ".tif",
        ".tiff",
        ".webp",
    }
)
"""Lower-case file extensions fersk treats as images (formats OpenCV decodes).

The one list of the package: the loaders, ``fersk extract``, clip frame
folders and the CLI all use it through :func:`is_image_file`.
"""

_CONVERT = "convert it to JPEG or PNG"
SKIPPED_IMAGE_EXTENSIONS: dict[str, str] = {
    ".heic": f"a HEIC photo: fersk does not read HEIC/HEIF; {_CONVERT}",
    ".heif": f"a HEIF photo: fersk does not read HEIC/HEIF; {_CONVERT}",
    ".hif": f"a HEIF photo: fersk does not read HEIC/HEIF; {_CONVERT}",
    ".avif": f"an AVIF image: not every OpenCV build reads AVIF, so fersk does not; {_CONVERT}",
    ".jxl": f"a JPEG XL image: fersk does not read JPEG XL; {_CONVERT}",
    ".jp2": f"a JPEG 2000 image: fersk does not list JPEG 2000 files; {_CONVERT}",
    ".dng": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".cr2": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".cr3": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".nef": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".arw": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".orf": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".rw2": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
    ".raf": f"a camera raw file: fersk does not read raw files; {_CONVERT}",
}
"""Photo formats a folder may hold that fersk does not read, and why (lower-case extensions).

:func:`scan_image_files` lists such files as skipped, with this reason, so a
command can count and name them instead of passing over them in silence.
"""


def is_image_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` has an image extension (see :data:`IMAGE_EXTENSIONS`).

    Parameters
    ----------
    name : str or path-like
        A file name or path. Only its extension is looked at (in any case);
        the file need not exist.

    Returns
    -------
    bool

    See Also
    --------
    fersk.io.list_image_files : The image files of a folder, found with this test.
    fersk.io.is_video_file : The same test for video extensions.

    Examples
    --------
    >>> is_image_file("face.JPG"), is_image_file("anim.gif"), is_image_file("notes.txt")
    (True, True, False)
    """
    return os.path.splitext(os.fspath(name))[1].lower() in IMAGE_EXTENSIONS


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int, what: str = "image") -> str | None:
    """Why a file of this ``st_mode`` cannot be read as a ``what`` file (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"it is a folder, not {'an' if what[0] in 'aeiou' else 'a'} {what} file"
    kind = next((test_kind for test, test_kind in _FILE_KINDS if test(mode)), "a special file")
    return f"it is {kind}, not a regular file; fersk reads {what}s from regular files only"


def natural_sort_key(text: str) -> tuple[tuple[Any, ...], str]:
    """Sort key ordering digit runs numerically (``img2`` before ``img10``).

    Examples
    --------
    >>> sorted(["img10.png", "img2.png", "IMG1.png"], key=natural_sort_key)
    ['IMG1.png', 'img2.png', 'img10.png']
    """
    parts = _DIGITS.split(text)
    key = tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts))
    return key, text


def natural_sorted(items: Iterable[str]) -> list[str]:
    """Return ``items`` sorted with :func:`natural_sort_key`.

    Examples
    --------
    >>> natural_sorted(["f10.png", "f9.png"])
    ['f9.png', 'f10.png']
    """
    return sorted(items, key=natural_sort_key)


def is_hidden(name: str) -> bool:
    """Whether a file or folder name is skipped when listing (``.*``, ``__MACOSX``).

    Examples
    --------
    >>> is_hidden(".DS_Store"), is_hidden("__MACOSX"), is_hidden("happy")
    (True, True, False)
    """
    return name.startswith(".") or name in _IGNORED_DIRS


def list_folders(path: str | os.PathLike) -> list[Path]:
    """The visible sub-folders of ``path`` (see :func:`is_hidden`), naturally sorted.

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ["s10", "s9", ".git", "__MACOSX"]:
    ...     os.mkdir(os.path.join(root, name))
    >>> [p.name for p in list_folders(root)]
    ['s9', 's10']
    """
    found = [p for p in Path(path).iterdir() if p.is_dir() and not is_hidden(p.name)]
    return sorted(found, key=lambda p: natural_sort_key(p.name))


def scan_image_files(
    root: str | os.PathLike, *, recursive: bool = True
) -> tuple[list[str], list[tuple[str, str]]]:
    """The image files under ``root``, and what was skipped there and why.

    ``files`` are the relative POSIX paths of the regular files with an image
    extension (see :data:`IMAGE_EXTENSIONS`), naturally sorted. Symlinked
    files and folders are followed (a folder reached twice, or a symlink
    loop, is listed once). Hidden files and folders (names starting with
    ``"."``, e.g. ``.DS_Store`` or macOS ``._x.jpg`` resource forks),
    ``__MACOSX`` folders and files that are not images (``notes.txt``) are
    passed over. Everything else that a user could expect to be read is in
    ``skipped`` with a reason, so a command can count it and name it:

    * photos in a format fersk does not read (:data:`SKIPPED_IMAGE_EXTENSIONS`:
      HEIC, HEIF, AVIF, raw files...);
    * an image name that is not a regular file: a broken link, a FIFO, a
      device (reading one would hang or never end);
    * a folder that cannot be listed (no permission): ``"sub/"``; ``"."`` for
      ``root`` itself (a missing root too).

    Parameters
    ----------
    root : str or path-like
        The folder.
    recursive : bool, default=True
        Also list the sub-folders (``False``: only ``root``'s own files, e.g.
        the frames of a clip folder).

    Returns
    -------
    files : list of str
    skipped : list of (str, str)
        ``(relative path, reason)``, naturally sorted by path; a folder's
        path ends in ``/``.

    See Also
    --------
    fersk.io.list_image_files : Only the files.
    fersk.io.is_image_file : Which names count as images.

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ["b10.png", "b9.jpg", "IMG_1.HEIC", ".hidden.png", "notes.txt"]:
    ...     _ = open(os.path.join(root, name), "w").write("x")
    >>> os.mkfifo(os.path.join(root, "pipe.jpg"))
    >>> files, skipped = scan_image_files(root)
    >>> files
    ['b9.jpg', 'b10.png']
    >>> for path, why in skipped:
    ...     print(path, "-", why)
    IMG_1.HEIC - a HEIC photo: fersk does not read HEIC/HEIF; convert it to JPEG or PNG
    pipe.jpg - it is a named pipe (FIFO), not a regular file; fersk reads images from regular \
files only
    """
    root = os.fspath(root)
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()  # real folders visited: symlinked folders are followed, once
    folders = [(root, "")]
    while folders:
        folder, rel = folders.pop()
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop, or a second link to a folder already listed
            continue
        seen.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: natural_sort_key(e.name))
        except OSError as exc:
            skipped.append((rel or ".", f"cannot list this folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if is_hidden(entry.name):
                continue
            path = rel + entry.name
            if _is_dir(entry):
                if recursive:
                    folders.append((entry.path, path + "/"))
                continue
            extension = os.path.splitext(entry.name)[1].lower()
            if extension in SKIPPED_IMAGE_EXTENSIONS:
                skipped.append((path, SKIPPED_IMAGE_EXTENSIONS[extension]))
            elif extension in IMAGE_EXTENSIONS:
                why = _entry_not_regular(entry)
                if why is None:
                    found.append(path)
                else:
                    skipped.append((path, why))
    return natural_sorted(found), sorted(skipped, key=lambda item: natural_sort_key(item[0]))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False


def _entry_not_regular(entry: os.DirEntry) -> str | None:
    """Why a listed image name is not read (None: a regular file, or a link to one)."""
    try:
        if entry.is_file():  # no system call for a plain file
            return None
        return _not_regular(entry.stat().st_mode)
    except OSError as exc:
        if not os.path.exists(entry.path) and os.path.islink(entry.path):
            return "a broken link: its target does not exist"
        return f"cannot read it: {exc.strerror or exc}"


def list_image_files(root: str | os.PathLike, *, recursive: bool = True) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, naturally sorted.

    The files of :func:`scan_image_files`, which also says what was skipped
    and why (HEIC photos, FIFOs, broken links, unreadable folders). Symlinked
    files and folders are followed (a folder reached twice, or a symlink
    loop, is listed once). Non-image files are skipped (see
    :data:`IMAGE_EXTENSIONS`), as are hidden files and folders (names
    starting with ``"."``, e.g. ``.DS_Store`` or macOS ``._x.jpg`` resource
    forks), ``__MACOSX`` folders and names that are not regular files.

    Parameters
    ----------
    root : str or path-like
        The folder.
    recursive : bool, default=True
        Also list the sub-folders (``False``: only ``root``'s own files, e.g.
        the frames of a clip folder).

    Returns
    -------
    list of str

    See Also
    --------
    fersk.io.scan_image_files : The files, and what was skipped and why.
    fersk.io.is_image_file : Which names count as images.
    fersk.io.list_folders : The visible sub-folders of a folder.
    fersk.datasets.load_image_folder : Load a labelled dataset of class folders.
    fersk.io.read_clip : Read a folder of frames as a clip.

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ["b10.png", "b9.jpg", ".hidden.png", "notes.txt"]:
    ...     _ = open(os.path.join(root, name), "w").write("x")
    >>> list_image_files(root)
    ['b9.jpg', 'b10.png']
    """
    return scan_image_files(root, recursive=recursive)[0]
