"""Image headers: an encoded image's width and height, read without decoding it.

:func:`image_header_size` reads the size from the header of every format this
OpenCV build decodes, within bounded time and without decoding a pixel, so
:func:`~fersk.io.decode_image_bytes` can refuse an image over the pixel
budget before decoding it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

__all__ = ["image_header_size"]

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
    :data:`~fersk.io.images.MAX_IMAGE_PIXELS` before decoding it: a 400-byte PNG can announce
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
