"""fersk.io.headers: an image's size read from its header, for every format OpenCV decodes,
and refused in bounded time when the header says nothing or lies."""

from __future__ import annotations

import io
import time

import cv2
import numpy as np
import pytest

from fersk.io import ImageReadError, decode_image_bytes
from fersk.io.headers import image_header_size


def _encoded_samples():
    """(label, bytes) of one image per format and variant this OpenCV build decodes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (37, 61), dtype=np.uint8)
    rgb = rng.integers(0, 255, (37, 61, 3), dtype=np.uint8)
    rgba = rng.integers(0, 255, (37, 61, 4), dtype=np.uint8)
    samples = []
    for ext, image in [
        (".png", rgba), (".png", gray), (".jpg", rgb), (".bmp", rgb), (".tif", rgb),
        (".webp", rgb), (".webp", rgba), (".pgm", gray), (".ppm", rgb), (".pam", rgb),
        (".ras", rgb), (".jp2", rgb), (".pfm", rgb.astype(np.float32) / 255),
        (".hdr", rgb.astype(np.float32) / 255), (".avif", rgb), (".exr", rgb),
    ]:  # fmt: skip
        try:
            ok, encoded = cv2.imencode(ext, image)
        except cv2.error:
            continue  # not in this build
        if ok:
            samples.append((f"opencv{ext}-{image.shape}", encoded.tobytes()))
    for fmt, kwargs, image in [
        ("GIF", {}, rgb), ("TIFF", {"compression": "tiff_lzw"}, rgb),
        ("TIFF", {"big_tiff": True}, rgb), ("JPEG", {"progressive": True}, rgb),
        ("JPEG", {"icc_profile": b"\0" * 200_000}, rgb), ("WEBP", {"lossless": True}, rgb),
        ("BMP", {}, gray), ("JPEG2000", {"no_jp2": True}, rgb), ("PPM", {}, gray),
    ]:  # fmt: skip
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, fmt, **kwargs)
        samples.append((f"pillow-{fmt}-{kwargs}", buffer.getvalue()))
    return samples


@pytest.mark.bad_input("S6-pixel-budget")
@pytest.mark.parametrize("label, data", _encoded_samples(), ids=lambda value: str(value)[:40])
def test_the_header_gives_the_size_opencv_decodes(label, data):
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None, label
    assert image_header_size(data) == (decoded.shape[1], decoded.shape[0]), label
    assert read_image_bytes_shape(data) == decoded.shape[:2]


def read_image_bytes_shape(data: bytes) -> tuple[int, int]:
    return decode_image_bytes(data, color="gray").shape


@pytest.mark.bad_input("S6-pixel-budget")
def test_headers_that_say_nothing_or_lie_are_refused_in_bounded_time():
    ok, png = cv2.imencode(".png", np.zeros((4, 4), np.uint8))
    assert image_header_size(png.tobytes()[:20]) is None  # cut inside IHDR
    start = time.perf_counter()
    assert image_header_size(b"\xff\xd8\xff" + b"\xff" * 5_000_000) is None  # fill bytes only
    assert time.perf_counter() - start < 5
    with pytest.raises(ImageReadError, match="not a decodable image file"):
        decode_image_bytes(png.tobytes()[:20])
    with pytest.raises(ImageReadError, match="not a decodable image file"):
        decode_image_bytes(b"GIF89a")
