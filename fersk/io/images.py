"""Images: decoding files, colour and dtype conversion, and listing image files.

Every fersk step that looks at pixels goes through :func:`read_image` (or
:func:`convert_color` for frames already in memory), so grayscale, RGB,
OpenCV's BGR, RGBA, 16-bit images in either byte order and the EXIF
orientation of phone photos are handled in one place, and a bad input fails
with a message naming the sample and the problem. :func:`list_image_files`
is the one folder listing of the package (the loaders, the CLI, clip frame
folders).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

#: The crop's side in face-box widths: a HOG box covers ~0.78 of a FER2013 or CK+48 image.
CROP_SCALE = 1 / 0.78
#: The crop's centre above the box centre, in crop sides (the box sits at 0.54 of the height).
CROP_SHIFT = 0.04


ImageSource = str | os.PathLike | np.ndarray
"""A path to an image file, or an image array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``."""

Color = Literal["gray", "rgb"]
ChannelOrder = Literal["rgb", "bgr"]

_DIGITS = re.compile(r"(\d+)", re.ASCII)
_IGNORED_DIRS = frozenset({"__MACOSX"})

__all__ = [
    "CROP_SCALE",
    "CROP_SHIFT",
    "IMAGE_EXTENSIONS",
    "face_crop",
    "face_crop_window",
    "convert_color",
    "is_hidden",
    "list_folders",
    "list_image_files",
    "natural_sort_key",
    "natural_sorted",
    "ImageReadError",
    "ImageSource",
    "decode_image_bytes",
    "describe_source",
    "is_image_file",
    "read_file_bytes",
    "read_image",
    "resize_square",
    "source_digest",
    "to_uint8",
    "write_image",
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


class ImageReadError(ValueError):
    """An image file or array could not be turned into an image.

    A :class:`ValueError`: a missing file, a file that is not a decodable
    image, or an array without an image's shape or dtype. The message names
    the sample and the problem.

    See Also
    --------
    fersk.io.read_image : Raises it for a bad file or array.
    fersk.io.ClipReadError : Its subclass for clips.
    fersk.io.VideoReadError : Its subclass for video files and cameras.

    Examples
    --------
    >>> from fersk.io import read_image, ImageReadError
    >>> try:
    ...     read_image("/no/such/file.png")
    ... except ImageReadError as err:
    ...     print("cannot read" in str(err))
    True

    A file with an image extension but other contents:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.png")
    >>> _ = open(path, "w").write("not an image")
    >>> try:
    ...     read_image(path)
    ... except ImageReadError as err:
    ...     print(str(err).endswith("not a decodable image file"))
    True
    """


def describe_source(source: object, max_len: int = 80) -> str:
    """Return a short human-readable name for an image source (for messages).

    Examples
    --------
    >>> import numpy as np
    >>> describe_source(np.zeros((4, 5), dtype=np.uint8))
    'array(shape=(4, 5), dtype=uint8)'
    >>> describe_source("faces/a.png")
    "'faces/a.png'"
    """
    if isinstance(source, np.ndarray):
        return f"array(shape={source.shape}, dtype={source.dtype})"
    if isinstance(source, (str, os.PathLike)):
        # Paths are named in full (a user must be able to find the file); only
        # absurdly long ones lose their middle.
        text = repr(os.fspath(source))
        return text if len(text) <= 400 else text[:200] + "..." + text[-197:]
    text = repr(source)
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image array of any common dtype to ``uint8``.

    ``uint16`` is scaled by 1/257 (full 16-bit range to full 8-bit range);
    floats are taken as ``[0, 1]`` when their maximum is at most 1, else as
    ``[0, 255]``; other integer types are clipped to ``[0, 255]``. Arrays in
    non-native byte order (big-endian TIFF data, ``>u2``) are read by value.

    Parameters
    ----------
    image : ndarray
        An image array of any shape; its dtype decides the scaling.

    Returns
    -------
    ndarray of uint8
        The same shape; ``image`` itself when it is already ``uint8``.

    Raises
    ------
    ImageReadError
        For a boolean array, a float array with NaN or infinite values, or a
        dtype that is neither integer nor float.

    See Also
    --------
    fersk.io.convert_color : Also convert the channels to gray, RGB or BGR.
    fersk.io.read_image : Read a file or an array as ``uint8`` gray or RGB.

    Examples
    --------
    >>> import numpy as np
    >>> to_uint8(np.array([[0, 65535]], dtype=np.uint16)).tolist()
    [[0, 255]]
    >>> to_uint8(np.array([[0.0, 0.5, 1.0]])).tolist()
    [[0, 128, 255]]
    >>> to_uint8(np.array([[0, 65535]], dtype=">u2")).tolist()  # big-endian 16-bit
    [[0, 255]]
    """
    if not image.dtype.isnative:  # byte order: compare values, not bytes
        image = image.astype(image.dtype.newbyteorder("="))
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        raise ImageReadError("boolean arrays are not images; convert to uint8 first")
    if image.dtype == np.uint16:
        return (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        finite = image[np.isfinite(image)]
        if finite.size != image.size:
            raise ImageReadError("image array contains NaN or infinite values")
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(image * scale + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ImageReadError(f"unsupported image dtype {image.dtype}")


def convert_color(
    image: np.ndarray, color: str = "rgb", channel_order: ChannelOrder = "rgb"
) -> np.ndarray:
    """Convert an image array to ``uint8`` gray, RGB or BGR: the package's one colour conversion.

    Parameters
    ----------
    image : ndarray
        ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` of any dtype
        :func:`to_uint8` takes; alpha is dropped.
    color : {"gray", "rgb", "bgr"}, default="rgb"
        Layout of the result (``"bgr"`` for OpenCV's writers).
    channel_order : {"rgb", "bgr"}, default="rgb"
        Channel order of a colour ``image``.

    Returns
    -------
    ndarray of uint8, shape (H, W) or (H, W, 3), C-contiguous

    Raises
    ------
    ImageReadError
        For an array that is not an image (shape, dtype, NaN).

    See Also
    --------
    fersk.io.read_image : The same conversion for a file or an array.
    fersk.io.to_uint8 : The dtype conversion done first.

    Examples
    --------
    >>> import numpy as np
    >>> bgr = np.zeros((1, 1, 3), np.uint8); bgr[..., 0] = 255  # pure blue, OpenCV order
    >>> convert_color(bgr, "rgb", channel_order="bgr").tolist()
    [[[0, 0, 255]]]
    >>> convert_color(np.full((1, 2), 7, np.uint16) * 257, "bgr").tolist()
    [[[7, 7, 7], [7, 7, 7]]]
    """
    if image.size == 0:
        raise ImageReadError(f"empty image array of shape {image.shape}")
    image = to_uint8(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        if color == "gray":
            return np.ascontiguousarray(image)
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageReadError(
            f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}"
        )
    if image.shape[2] == 4:  # drop alpha: fersk reads the face, not its transparency
        image = image[:, :, :3]
    if color == "gray":
        code = cv2.COLOR_RGB2GRAY if channel_order == "rgb" else cv2.COLOR_BGR2GRAY
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if color == channel_order:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)  # the same swap


def decode_image_bytes(data: bytes, *, color: Color = "gray", name: str = "image") -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, TIFF, ...) into ``uint8`` gray or RGB.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> ok, png = cv2.imencode(".png", np.full((3, 4), 7, dtype=np.uint8))
    >>> decode_image_bytes(png.tobytes()).shape
    (3, 4)
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    # ANYDEPTH keeps 16-bit files 16-bit until to_uint8; ANYCOLOR keeps gray gray.
    # Unlike IMREAD_UNCHANGED, these flags apply the EXIF orientation of phone photos.
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    image = cv2.imdecode(buffer, flags) if buffer.size else None
    if image is None:
        raise ImageReadError(f"cannot read image {name}: not a decodable image file")
    # OpenCV decodes colour files as BGR(A); 16-bit files stay 16-bit until here.
    return convert_color(image, color, "bgr")


def face_crop_window(box, *, scale: float = CROP_SCALE, shift: float = CROP_SHIFT):
    """Where :func:`face_crop` cuts: ``(left, top, size)`` in the image's pixels.

    The window may reach outside the image (``face_crop`` pads it there).

    Parameters
    ----------
    box : sequence of 4 floats
        ``left, top, right, bottom``, inclusive pixel coordinates (dlib's).
    scale, shift : float
        The crop's side in box sides, and its centre above the box centre in
        crop sides (FER2013's framing by default).

    Returns
    -------
    (int, int, int)
        The crop's top-left corner and side.

    See Also
    --------
    face_crop : The crop itself.

    Examples
    --------
    >>> face_crop_window([40, 40, 60, 60])
    (37, 36, 27)
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    # Boxes are inclusive pixel coordinates (dlib's): a box of 0..9 is 10 pixels wide.
    side = scale * (max(x1 - x0, y1 - y0) + 1)
    size = max(1, int(round(side)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - shift * side
    return int(round(cx - (size - 1) / 2)), int(round(cy - (size - 1) / 2)), size


def face_crop(image: np.ndarray, box) -> np.ndarray:
    """The square crop around a face box framed as FER2013 frames its faces.

    Parts of the crop outside the image are filled with the nearest edge pixels.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
    box : sequence of 4 floats
        ``left, top, right, bottom``.

    Returns
    -------
    ndarray
        A square crop of side ``CROP_SCALE`` box sides.

    See Also
    --------
    face_crop_window : Where the crop is cut.
    fersk.landmarks.find_faces : The face boxes of a photo.
    fersk.predict.predict_faces : Finds, crops and classifies every face of photos.

    Examples
    --------
    >>> import numpy as np
    >>> face_crop(np.zeros((100, 100), np.uint8), [40, 40, 60, 60]).shape
    (27, 27)
    """
    left, top, size = face_crop_window(box)
    pad = max(0, -left, -top, left + size - image.shape[1], top + size - image.shape[0])
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an image to ``size x size``: area interpolation when shrinking, linear when enlarging.

    Examples
    --------
    >>> import numpy as np
    >>> resize_square(np.zeros((40, 60), dtype=np.uint8), 16).shape
    (16, 16)
    """
    if image.shape[:2] == (size, size):
        return image
    shrink = min(image.shape[:2]) >= size
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """Read a file's bytes, raising :class:`ImageReadError` that names it.

    Examples
    --------
    >>> read_file_bytes("/no/such.png")
    Traceback (most recent call last):
    ...
    fersk.io.images.ImageReadError: cannot read image file '/no/such.png': No such file or directory
    """
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise ImageReadError(f"cannot read image file {str(path)!r}: {reason}") from exc


def read_image(
    source: ImageSource,
    *,
    color: Color = "gray",
    channel_order: ChannelOrder = "rgb",
) -> np.ndarray:
    """Read an image from a path or an array as a ``uint8`` gray or RGB array.

    Parameters
    ----------
    source : str, path-like or ndarray
        A file path (any format OpenCV decodes; 8- or 16-bit; gray, colour or
        with alpha) or an array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or
        ``(H, W, 4)`` of any numeric dtype.
    color : {"gray", "rgb"}
        Layout of the returned array.
    channel_order : {"rgb", "bgr"}
        Channel order of a 3- or 4-channel *array* source. Use ``"bgr"`` for
        arrays read with ``cv2.imread``. Files are always decoded correctly.

    Returns
    -------
    ndarray of uint8, shape (H, W) or (H, W, 3)

    Raises
    ------
    ImageReadError
        When the file is missing or not an image, or the array has no image shape.

    See Also
    --------
    fersk.io.write_image : Write such an array to a file.
    fersk.io.convert_color : The conversion of an array already in memory.
    fersk.io.read_clip : Read the frames of a clip.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((2, 2, 3), dtype=np.uint8); rgb[..., 0] = 255  # pure red
    >>> int(read_image(rgb, color="gray")[0, 0])  # luma of red
    76
    >>> int(read_image(rgb, color="gray", channel_order="bgr")[0, 0])  # as if blue
    29
    """
    if isinstance(source, np.ndarray):
        return convert_color(source, color, channel_order)
    if isinstance(source, (str, os.PathLike)):
        return decode_image_bytes(read_file_bytes(source), color=color, name=repr(str(source)))
    raise ImageReadError(f"expected a file path or an image array, got {type(source).__name__}")


def write_image(path: str | os.PathLike, image: np.ndarray) -> str:
    """Write a gray or RGB image array to a file (the extension picks the format).

    The inverse of :func:`read_image` for ``uint8`` gray or RGB arrays (any
    dtype :func:`to_uint8` takes); colour is converted to OpenCV's BGR here.

    Parameters
    ----------
    path : str or path-like
        Output file; its extension (``.png``, ``.jpg``, ...) picks the format.
    image : ndarray
        ``(H, W)`` gray or ``(H, W, 3)`` RGB (``(H, W, 4)`` loses its alpha),
        written as 8-bit.

    Returns
    -------
    str
        ``path`` as a string.

    Raises
    ------
    OSError
        When OpenCV cannot write the file (a missing folder, an unknown extension).
    ImageReadError
        For an array that is not an image (see :func:`convert_color`).

    See Also
    --------
    fersk.io.read_image : Read the file back.
    fersk.io.write_video : Write frames to a video file.
    fersk.io.AtomicOutput : Replace an existing file only once writing succeeded.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> path = write_image(os.path.join(tempfile.mkdtemp(), "x.png"), np.full((2, 3), 9, np.uint8))
    >>> read_image(path).tolist()
    [[9, 9, 9], [9, 9, 9]]
    """
    path = os.fspath(path)
    pixels = convert_color(image, "gray" if np.asarray(image).ndim == 2 else "bgr")
    if not cv2.imwrite(path, pixels):
        raise OSError(f"could not write image {path!r}")
    return path


def source_digest(
    source: ImageSource, channel_order: ChannelOrder = "rgb", *, data: bytes | None = None
) -> str:
    """Content hash of an image source: file bytes for paths, pixels for arrays.

    Two paths to identical files share a digest; renaming a file keeps it.
    This keys fersk's feature caches. Pass ``data`` when the file's bytes
    were already read, to avoid reading it twice.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 2), dtype=np.uint8)
    >>> source_digest(a) == source_digest(a.copy())
    True
    >>> source_digest(a) == source_digest(a + 1)
    False
    """
    h = hashlib.blake2b(digest_size=20)
    if isinstance(source, np.ndarray):
        arr = np.ascontiguousarray(source)
        h.update(f"array|{arr.shape}|{arr.dtype.str}|{channel_order}|".encode())
        h.update(arr.tobytes())
    else:
        h.update(b"file|")
        h.update(Path(source).read_bytes() if data is None else data)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Listing image files
# --------------------------------------------------------------------------


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


def list_image_files(root: str | os.PathLike, *, recursive: bool = True) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, naturally sorted.

    Symlinked files and folders are followed (a folder reached twice, or a
    symlink loop, is listed once). Non-image files are skipped (see
    :data:`IMAGE_EXTENSIONS`), as are hidden files and folders (names
    starting with ``"."``, e.g. ``.DS_Store`` or macOS ``._x.jpg`` resource
    forks) and ``__MACOSX`` folders.

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
    found = []
    seen: set[str] = set()  # real folders visited: symlinked folders are followed, once
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop, or a second link to a folder already listed
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        if not recursive:
            dirnames[:] = []
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if not is_hidden(name) and is_image_file(name):
                found.append((rel_dir / name).as_posix())
    return natural_sorted(found)
