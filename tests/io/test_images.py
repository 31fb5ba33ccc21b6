"""fersk.io.images: images decoded as RGB or gray whatever their file or array, read within a
byte and a pixel budget."""

from __future__ import annotations

import os
import struct
import threading
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import assume, given
from PIL import Image

from fersk import LandmarkExtractor
from fersk.io import images, to_uint8
from fersk.io.images import (
    ImageReadError,
    decode_image_bytes,
    read_file_bytes,
    read_image,
    source_digest,
)
from tests.strategies import SETTINGS, arrays, clear_error


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_size(width: int, height: int, *, full: bool = False) -> bytes:
    """A gray PNG announcing ``width x height``: all its rows (``full``), or only the first.

    A full 20000 x 20000 PNG of zeros is ~390 kB on disk and 400 MB decoded.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\0" * (width + 1)
    if full:
        packer = zlib.compressobj(9)
        pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        pixels = zlib.compress(row)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def run_with_deadline(function, seconds: float = 20.0):
    """``function()``'s outcome, or a failure if it has not returned within ``seconds`` (a hang)."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --------------------------------------------------------------------------
# The pixel budget, from the header
# --------------------------------------------------------------------------


@pytest.mark.bad_input("S6-pixel-budget")
def test_a_huge_image_is_a_failure_row_naming_its_size_and_the_batch_goes_on(
    tmp_path, face_png, monkeypatch
):
    from fersk import LandmarkExtractor

    bomb = tmp_path / "bomb.png"  # 40000 x 40000: OpenCV's own limit raised cv2.error here
    bomb.write_bytes(png_of_size(40000, 40000))
    compressed = tmp_path / "compressed.png"  # 390 kB that decodes to 400 MB
    compressed.write_bytes(png_of_size(20000, 20000, full=True))
    decoded = []
    real_imdecode = cv2.imdecode
    monkeypatch.setattr(
        images.cv2, "imdecode", lambda *a: decoded.append(a[0].size) or real_imdecode(*a)
    )
    extractor = LandmarkExtractor(5, detector="none")
    with pytest.warns(UserWarning):
        X = extractor.transform([str(bomb), str(face_png), str(compressed)])
    assert X.shape == (3, 10)
    assert np.isnan(X[[0, 2]]).all() and np.isfinite(X[1]).all()
    failures = {f.index: f for f in extractor.failures_}
    assert sorted(failures) == [0, 2]
    assert failures[0].reason == "unreadable" and "bomb.png" in failures[0].message
    assert "image of 40000 x 40000 pixels exceeds the budget of 50,000,000" in failures[0].message
    assert "image of 20000 x 20000 pixels exceeds the budget" in failures[2].message
    assert len(decoded) == 1  # only the face was decoded: the others were refused from the header


@pytest.mark.bad_input("S6-pixel-budget")
def test_the_pixel_budget_is_a_module_constant_read_at_each_call(face_png, monkeypatch):
    assert read_image(face_png).shape == (100, 100)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100 * 100 - 1)
    with pytest.raises(
        ImageReadError, match=r"image of 100 x 100 pixels exceeds the budget of 9,999"
    ):
        read_image(face_png)
    data = face_png.read_bytes()
    assert decode_image_bytes(data, max_pixels=100 * 100).shape == (100, 100)


@pytest.mark.bad_input("S6-pixel-budget")
def test_opencv_refusing_an_image_is_an_image_read_error(monkeypatch):
    """Whatever gets past the header check, OpenCV's own limit errors are a bad sample."""
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 10**12)
    with pytest.raises(ImageReadError, match="OpenCV refused it"):
        decode_image_bytes(png_of_size(40000, 40000), name="'bomb.png'")


# --------------------------------------------------------------------------
# Regular files only, within a byte budget
# --------------------------------------------------------------------------


@pytest.mark.bad_input("S6-regular-files")
def test_a_fifo_named_like_a_photo_is_refused_without_waiting_for_a_writer(tmp_path, face_png):
    from fersk import LandmarkExtractor

    pipe = tmp_path / "pipe.jpg"
    os.mkfifo(pipe)
    with pytest.raises(ImageReadError, match=r"pipe\.jpg.*named pipe \(FIFO\), not a regular file"):
        run_with_deadline(lambda: read_image(pipe))
    with pytest.raises(ImageReadError, match="named pipe"):
        run_with_deadline(lambda: source_digest(str(pipe)))  # the cache key reads it too
    extractor = LandmarkExtractor(5, detector="none")
    with pytest.warns(UserWarning):
        X = run_with_deadline(lambda: extractor.transform([str(pipe), str(face_png)]))
    assert np.isnan(X[0]).all() and np.isfinite(X[1]).all()
    assert [(f.index, f.reason) for f in extractor.failures_] == [(0, "unreadable")]


@pytest.mark.bad_input("S6-regular-files")
def test_a_link_to_a_device_is_refused_unread(tmp_path):
    link = tmp_path / "zero.png"
    os.symlink("/dev/zero", link)  # read whole, it never ends
    with pytest.raises(ImageReadError, match=r"zero\.png.*character device, not a regular file"):
        run_with_deadline(lambda: read_file_bytes(link), 10)
    with pytest.raises(ImageReadError, match="it is a folder, not an image file"):
        read_image(tmp_path)


@pytest.mark.bad_input("S6-byte-budget")
def test_a_file_over_the_byte_budget_is_refused_unread(face_png, monkeypatch):
    size = face_png.stat().st_size
    assert read_file_bytes(face_png, max_bytes=size) == face_png.read_bytes()
    with pytest.raises(ImageReadError, match=rf"file of {size:,} bytes exceeds the budget of 100"):
        read_file_bytes(face_png, max_bytes=100)
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(ImageReadError, match="MAX_IMAGE_BYTES"):
        read_image(face_png)


# --------------------------------------------------------------------------
# Arrays and files decoded alike
# --------------------------------------------------------------------------


def test_rgb_and_bgr_arrays_give_the_same_gray(face_rgb):
    bgr = face_rgb[:, :, ::-1]
    gray_rgb = read_image(face_rgb, color="gray")
    gray_bgr = read_image(bgr, color="gray", channel_order="bgr")
    np.testing.assert_array_equal(gray_rgb, gray_bgr)
    # Reading BGR as if it were RGB swaps red and blue: a real difference.
    assert np.abs(read_image(bgr, color="gray").astype(int) - gray_rgb).mean() > 3


def test_file_is_decoded_as_rgb_whatever_opencv_does(tmp_path, face_rgb):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(read_image(path, color="rgb"), face_rgb)


def test_rgba_16bit_and_gray_files(tmp_path, face_rgb):
    rgba = np.dstack([face_rgb[:, :, ::-1], np.full(face_rgb.shape[:2], 128, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png", color="rgb"), face_rgb)

    gray = cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(tmp_path / "g16.png"), gray.astype(np.uint16) * 257)
    out = read_image(tmp_path / "g16.png", color="gray")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, gray)
    assert read_image(tmp_path / "g16.png", color="rgb").shape == gray.shape + (3,)


def test_to_uint8_ranges():
    assert to_uint8(np.array([[0.0, 1.0]])).tolist() == [[0, 255]]
    assert to_uint8(np.array([[0.0, 255.0]])).tolist() == [[0, 255]]
    assert to_uint8(np.array([[-5, 300]], dtype=np.int32)).tolist() == [[0, 255]]
    with pytest.raises(ImageReadError, match="NaN"):
        to_uint8(np.array([[np.nan]]))


@pytest.mark.parametrize(
    "source, message",
    [
        ("/definitely/not/here.png", "cannot read image file '/definitely/not/here.png'"),
        (np.zeros((0, 5)), "empty image"),
        (np.zeros((4, 4, 2)), "expected an image of shape"),
        (42, "expected a file path or an image array"),
    ],
)
def test_bad_sources_raise_clear_errors(source, message):
    with pytest.raises(ImageReadError, match=message):
        read_image(source)


def test_not_an_image_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    with pytest.raises(ImageReadError, match="notes.jpg.*not a decodable image"):
        read_image(path)


def test_digest_follows_content_not_name(tmp_path, face_crop):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(a), face_crop)
    cv2.imwrite(str(b), face_crop)
    assert source_digest(a) == source_digest(b)
    cv2.imwrite(str(b), face_crop // 2)
    assert source_digest(a) != source_digest(b)
    assert source_digest(face_crop) != source_digest(face_crop, "bgr")


@SETTINGS
@given(arrays())
def test_read_image_gives_an_image_or_a_clear_error(array):
    for color, n_dims in [("gray", 2), ("rgb", 3)]:
        try:
            image = read_image(array, color=color)
        except ImageReadError as exc:
            assert clear_error(exc)
            continue
        assert image.dtype == np.uint8 and image.ndim == n_dims
        assert image.shape[:2] == array.shape[:2]
        assert n_dims == 2 or image.shape[2] == 3


@SETTINGS
@given(arrays(min_dims=1, max_dims=3))
def test_to_uint8_is_byte_order_blind(array):
    assume(array.dtype.kind in "uif" and array.dtype.itemsize > 1)
    swapped = array.astype(array.dtype.newbyteorder())
    try:
        expected = to_uint8(array)
    except ImageReadError:
        with pytest.raises(ImageReadError):
            to_uint8(swapped)
        return
    np.testing.assert_array_equal(to_uint8(swapped), expected)


@pytest.mark.bad_input("5")
@pytest.mark.parametrize("orientation, rotate", [(6, Image.Transpose.ROTATE_90), (8, 270)])
def test_phone_photos_are_turned_upright_by_their_exif_orientation(
    orientation, rotate, face_rgb, tmp_path
):
    upright = Image.fromarray(face_rgb)
    stored = upright.transpose(rotate) if orientation == 6 else upright.rotate(-90, expand=True)
    exif = stored.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone_{orientation}.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    image = read_image(path, color="rgb")
    assert image.shape == face_rgb.shape
    assert np.abs(image.astype(int) - face_rgb).mean() < 4
    points = LandmarkExtractor(5).fit_transform([str(path)])
    assert np.isfinite(points).all()


@pytest.mark.bad_input("6")
def test_big_endian_uint16_is_scaled_not_clipped():
    little = np.array([[0, 257, 32768, 65535]], dtype="<u2")
    big = little.astype(">u2")
    assert to_uint8(big).tolist() == to_uint8(little).tolist() == [[0, 1, 128, 255]]
    gray = read_image(np.dstack([big] * 3), color="gray")
    assert gray.tolist() == [[0, 1, 128, 255]]
