"""Images: decoding files, colour and dtype conversion, and listing image files.

Every fersk step that looks at pixels goes through :func:`read_image` (or
:func:`convert_color` for frames already in memory), so grayscale, RGB,
OpenCV's BGR, RGBA, 16-bit images in either byte order and the EXIF
orientation of phone photos are handled in one place, and a bad input fails
with a message naming the sample and the problem. :func:`scan_image_files`
(and :func:`list_image_files`, its file list) is the one folder listing of the
package (the loaders, the CLI, clip frame folders).

Every image file is read within a budget, so no input can exhaust the memory
or hang a run: only regular files are read (a FIFO, a device or a symlink to
one is refused without being opened), at most :data:`MAX_IMAGE_BYTES` bytes,
and an image is decoded only once its header says it has at most
:data:`MAX_IMAGE_PIXELS` pixels (:func:`image_header_size` reads the width and
height of every format this OpenCV build decodes, without decoding).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
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

#: The most pixels (width x height) an image file may have to be decoded: 50 megapixels,
#: a 8660 x 5773 photo (a decoded 16-bit RGBA image of that size takes 400 MB). Larger
#: images are refused from their header, before any pixel is decoded. Change it here
#: (``fersk.io.images.MAX_IMAGE_PIXELS = ...``) to read larger images; worker processes
#: (``n_jobs``, a Dask cluster) import fersk afresh and keep the default.
MAX_IMAGE_PIXELS = 50_000_000
#: The most bytes an image file may have to be read: 200 MB (a 50-megapixel 16-bit RGBA
#: PNG without compression is 400 MB; photos are a few MB).
MAX_IMAGE_BYTES = 200 * 1024 * 1024

__all__ = [
    "CROP_SCALE",
    "CROP_SHIFT",
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "SKIPPED_IMAGE_EXTENSIONS",
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
    "image_header_size",
    "is_image_file",
    "read_file_bytes",
    "read_image",
    "resize_square",
    "scan_image_files",
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


# --------------------------------------------------------------------------
# Image headers: width and height without decoding
# --------------------------------------------------------------------------

#: Text headers (PNM, PAM, PFM, Radiance HDR) are looked for in this many first bytes.
_TEXT_HEADER_BYTES = 65536
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_MAX_JPEG_MARKERS = 100_000
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def _unpack(fmt: str, data: bytes, offset: int) -> tuple:
    """``struct.unpack_from``, or ValueError for data too short (a truncated header)."""
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise ValueError("truncated header")
    return struct.unpack_from(fmt, data, offset)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    for _ in range(_MAX_JPEG_MARKERS):  # bounded: a file of fill bytes ends the search
        if i + 4 > len(data):
            break
        if data[i] != 0xFF:  # stray bytes before a marker: skipped, as libjpeg does
            i = data.find(b"\xff", i)
            if i < 0:
                break
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
        elif marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            break
        elif marker in _JPEG_SOF:
            height, width = _unpack(">HH", data, i + 5)
            return width, height
        else:
            i += 2 + _unpack(">H", data, i + 2)[0]
    raise ValueError("no JPEG frame header")


def _tiff_size(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    big = _unpack(order + "H", data, 2)[0] == 43  # BigTIFF
    head, count, entry, value = ("Q", "Q", 20, 12) if big else ("I", "H", 12, 8)
    offset = _unpack(order + head, data, 8 if big else 4)[0]
    n = _unpack(order + count, data, offset)[0]
    start = offset + struct.calcsize(order + count)
    found: dict[int, int] = {}
    for k in range(min(n, 4096)):  # the first page's tags (OpenCV decodes the first page)
        tag, kind = _unpack(order + "HH", data, start + k * entry)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT, LONG or LONG8
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if fmt is None:
                raise ValueError("bad TIFF size tag")
            found[tag] = _unpack(order + fmt, data, start + k * entry + value)[0]
    return found[256], found[257]


def _text_tokens(data: bytes, start: int) -> Iterable[bytes]:
    """Whitespace-separated tokens of a PNM-style header, ``#`` comments skipped."""
    for line in data[start:_TEXT_HEADER_BYTES].split(b"\n"):
        yield from line.split(b"#", 1)[0].split()


def _pnm_size(data: bytes) -> tuple[int, int]:
    if data[:2] == b"P7":  # PAM: WIDTH and HEIGHT lines up to ENDHDR
        fields: dict[bytes, bytes] = {}
        tokens = iter(_text_tokens(data, 2))
        for token in tokens:
            if token == b"ENDHDR":
                break
            fields[token] = next(tokens, b"")
        return int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
    tokens = _text_tokens(data, 2)
    return int(next(tokens)), int(next(tokens))


def _hdr_size(data: bytes) -> tuple[int, int]:
    lines = data[:_TEXT_HEADER_BYTES].split(b"\n")
    blank = lines.index(b"")  # the header ends at an empty line; the resolution follows
    words = lines[blank + 1].split()  # "-Y 480 +X 640" (or rotated: "+X 640 -Y 480")
    axes = {words[0][1:2]: int(words[1]), words[2][1:2]: int(words[3])}
    return axes[b"X"], axes[b"Y"]


def _boxes(data: bytes, start: int, end: int) -> Iterable[tuple[bytes, int, int]]:
    """``(type, content start, end)`` of the ISO base media / JP2 boxes in ``data[start:end]``."""
    while start + 8 <= end:
        size, kind = _unpack(">I4s", data, start)
        head = 8
        if size == 1:
            size, head = _unpack(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < head:
            raise ValueError("bad box size")
        yield kind, start + head, min(end, start + size)
        start += size


def _jp2_size(data: bytes) -> tuple[int, int]:
    if data[:4] == b"\xff\x4f\xff\x51":  # a raw codestream: the SIZ marker
        right, bottom, left, top = _unpack(">IIII", data, 8)
        return right - left, bottom - top
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"jp2h":
            for inner, at, _ in _boxes(data, start, end):
                if inner == b"ihdr":
                    height, width = _unpack(">II", data, at)
                    return width, height
    raise ValueError("no JPEG 2000 image header")


def _isobmff_size(data: bytes) -> tuple[int, int]:
    """AVIF/HEIF: the largest ``ispe`` (image spatial extent) of the item properties."""
    sizes = []

    def walk(start: int, end: int, path: tuple[bytes, ...]) -> None:
        for kind, at, stop in _boxes(data, start, end):
            if kind == b"meta":
                walk(at + 4, stop, (*path, kind))  # a full box: version and flags first
            elif kind in (b"iprp", b"ipco"):
                walk(at, stop, (*path, kind))
            elif kind == b"ispe" and path[-1:] == (b"ipco",):
                sizes.append(_unpack(">II", data, at + 4))

    walk(0, len(data), ())
    if not sizes:
        raise ValueError("no image size")
    return max(sizes, key=lambda wh: wh[0] * wh[1])


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: the canvas size, 24 bits each, minus one
        lo_w, hi_w, lo_h, hi_h = _unpack("<HBHB", data, 24)
        return 1 + (lo_w | hi_w << 16), 1 + (lo_h | hi_h << 16)
    if chunk == b"VP8L":  # lossless: 14 bits each, minus one
        if data[20:21] != b"\x2f":
            raise ValueError("bad VP8L signature")
        bits = _unpack("<I", data, 21)[0]
        return 1 + (bits & 0x3FFF), 1 + (bits >> 14 & 0x3FFF)
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: a key frame's size
        width, height = _unpack("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError("unknown WebP chunk")


def _bmp_size(data: bytes) -> tuple[int, int]:
    if _unpack("<I", data, 14)[0] == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return _unpack("<HH", data, 18)
    width, height = _unpack("<ii", data, 18)
    return abs(width), abs(height)  # a negative height is a top-down bitmap


_HEADERS = (
    # (signature test, size reader): every format this OpenCV build decodes.
    (lambda d: d[:8] == b"\x89PNG\r\n\x1a\n", lambda d: _unpack(">II", d, 16)),
    (lambda d: d[:3] == b"\xff\xd8\xff", _jpeg_size),
    (lambda d: d[:6] in (b"GIF87a", b"GIF89a"), lambda d: _unpack("<HH", d, 6)),
    (lambda d: d[:2] == b"BM", _bmp_size),
    (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _webp_size),
    (lambda d: d[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"), _tiff_size),
    (lambda d: d[:1] == b"P" and d[1:2] in b"1234567" and len(d) > 2, _pnm_size),
    (lambda d: d[:2] in (b"PF", b"Pf"), _pnm_size),  # PFM: "PF w h" like a PNM
    (lambda d: d[:4] == b"\x59\xa6\x6a\x95", lambda d: _unpack(">II", d, 4)),  # Sun raster
    (lambda d: d[:10] == b"#?RADIANCE" or d[:6] == b"#?RGBE", _hdr_size),
    (lambda d: d[:12] == _JP2_SIGNATURE or d[:4] == b"\xff\x4f\xff\x51", _jp2_size),
    (lambda d: d[4:8] == b"ftyp", _isobmff_size),  # AVIF (and HEIF, which OpenCV lacks)
)


def image_header_size(data: bytes) -> tuple[int, int] | None:
    """An encoded image's ``(width, height)`` read from its header, without decoding it.

    Covers every format OpenCV decodes (PNG, JPEG, GIF, BMP, WebP, TIFF and
    BigTIFF, PBM/PGM/PPM/PAM, PFM, Sun raster, Radiance HDR, JPEG 2000,
    AVIF). This is how fersk checks an image against
    :data:`MAX_IMAGE_PIXELS` before decoding it: a 400-byte PNG can announce
    40000 x 40000 pixels.

    Parameters
    ----------
    data : bytes
        The file's bytes (or at least its first 64 kB).

    Returns
    -------
    (int, int) or None
        The size in pixels; None when the bytes are not an image header of a
        format it knows, or the header is cut short.

    See Also
    --------
    fersk.io.decode_image_bytes : Refuses images over the budget with it.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> ok, png = cv2.imencode(".png", np.zeros((3, 5), np.uint8))
    >>> image_header_size(png.tobytes())
    (5, 3)
    >>> image_header_size(b"not an image") is None
    True
    """
    for matches, read in _HEADERS:
        if matches(data):
            try:
                width, height = read(data)
            except (ValueError, KeyError, IndexError, StopIteration, struct.error):
                return None
            return int(width), int(height)
    return None


def _check_pixel_budget(size: tuple[int, int], name: str, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageReadError(
            f"cannot read image {name}: image of {width} x {height} pixels exceeds the budget "
            f"of {max_pixels:,} pixels (fersk.io.images.MAX_IMAGE_PIXELS); downscale it, or "
            "raise the budget to read it"
        )


def decode_image_bytes(
    data: bytes, *, color: Color = "gray", name: str = "image", max_pixels: int | None = None
) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, TIFF, ...) into ``uint8`` gray or RGB.

    The header is read first (:func:`image_header_size`): bytes that are no
    image header of a format OpenCV decodes, and images of more than
    ``max_pixels`` pixels, are refused before any pixel is decoded.

    Parameters
    ----------
    data : bytes
        The encoded file.
    color : {"gray", "rgb"}, default="gray"
        Layout of the result.
    name : str, default="image"
        How messages name the image (a quoted path).
    max_pixels : int or None, default=None
        The pixel budget; None is :data:`MAX_IMAGE_PIXELS` (read at each call).

    Returns
    -------
    ndarray of uint8, shape (H, W) or (H, W, 3)

    Raises
    ------
    ImageReadError
        For bytes that are not a decodable image, or an image over the budget
        (the message gives its size and the budget).

    Examples
    --------
    >>> import cv2, numpy as np
    >>> ok, png = cv2.imencode(".png", np.full((3, 4), 7, dtype=np.uint8))
    >>> decode_image_bytes(png.tobytes()).shape
    (3, 4)
    >>> decode_image_bytes(png.tobytes(), name="'a.png'", max_pixels=10)
    Traceback (most recent call last):
    ...
    fersk.io.images.ImageReadError: cannot read image 'a.png': image of 4 x 3 pixels exceeds \
the budget of 10 pixels (fersk.io.images.MAX_IMAGE_PIXELS); downscale it, or raise the budget \
to read it
    """
    size = image_header_size(data)
    if size is None:
        raise ImageReadError(f"cannot read image {name}: not a decodable image file")
    _check_pixel_budget(size, name, MAX_IMAGE_PIXELS if max_pixels is None else max_pixels)
    # ANYDEPTH keeps 16-bit files 16-bit until to_uint8; ANYCOLOR keeps gray gray.
    # Unlike IMREAD_UNCHANGED, these flags apply the EXIF orientation of phone photos.
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:  # OpenCV's own limits (pixels, sizes): a bad sample, not a crash
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "decoding failed"
        raise ImageReadError(f"cannot read image {name}: OpenCV refused it ({reason})") from None
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


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read as an image (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a folder, not an image file"
    kind = next((what for test, what in _FILE_KINDS if test(mode)), "a special file")
    return f"it is {kind}, not a regular file; fersk reads images from regular files only"


def read_file_bytes(path: str | os.PathLike, *, max_bytes: int | None = None) -> bytes:
    """Read an image file's bytes within a budget, raising :class:`ImageReadError` that names it.

    Only regular files are read: the path is resolved (symlinks followed) and
    a folder, a FIFO, a device or a socket is refused before it is opened
    (reading a FIFO waits for a writer forever; ``/dev/zero`` never ends). The
    file is then opened without blocking and checked again, so a file swapped
    in between is caught too. A file over ``max_bytes`` is refused unread.

    Parameters
    ----------
    path : str or path-like
        The image file.
    max_bytes : int or None, default=None
        The byte budget; None is :data:`MAX_IMAGE_BYTES` (read at each call).

    Returns
    -------
    bytes

    Raises
    ------
    ImageReadError
        A missing or unreadable file, a file that is not a regular file, or
        one over the budget.

    Examples
    --------
    >>> read_file_bytes("/no/such.png")
    Traceback (most recent call last):
    ...
    fersk.io.images.ImageReadError: cannot read image file '/no/such.png': No such file or directory
    >>> read_file_bytes("/dev/null")
    Traceback (most recent call last):
    ...
    fersk.io.images.ImageReadError: cannot read image file '/dev/null': it is a character device, \
not a regular file; fersk reads images from regular files only
    """
    name = repr(str(path))
    limit = MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    data, size = b"", 0
    try:
        why = _not_regular(os.stat(path).st_mode)  # before opening: opening a device can act
        if why is None:
            # Opened without blocking: a FIFO swapped in since the check cannot hang here.
            with os.fdopen(os.open(path, flags), "rb") as handle:
                info = os.fstat(handle.fileno())
                why, size = _not_regular(info.st_mode), info.st_size
                if why is None and size <= limit:
                    data = handle.read(limit + 1)  # + 1: a file that grew is caught
                    size = max(size, len(data))
    except OSError as exc:
        raise ImageReadError(f"cannot read image file {name}: {exc.strerror or exc}") from exc
    if why is not None:
        raise ImageReadError(f"cannot read image file {name}: {why}")
    if size > limit:
        raise ImageReadError(
            f"cannot read image file {name}: file of {size:,} bytes exceeds the budget of "
            f"{limit:,} bytes (fersk.io.images.MAX_IMAGE_BYTES)"
        )
    return data


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
        h.update(read_file_bytes(source) if data is None else data)
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
