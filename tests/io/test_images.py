"""fersk.io.images: every image input is read within a budget, and listings say what they skip."""

from __future__ import annotations

import io
import os
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest

from fersk.io import images
from fersk.io.images import (
    ImageReadError,
    decode_image_bytes,
    image_header_size,
    list_image_files,
    read_file_bytes,
    read_image,
    scan_image_files,
    source_digest,
)


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


@pytest.fixture()
def face_png(tmp_path, face_crop):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), face_crop)
    return path


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
# Listings say what they skip
# --------------------------------------------------------------------------


@pytest.mark.bad_input("S6-skipped-files")
def test_the_listing_names_what_it_skips_and_why(tmp_path, face_png):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for name in ["a.jpg", "sub/b.png", "IMG_1.HEIC", "c.heif", "d.avif", "notes.txt", ".e.png"]:
        (root / name).write_bytes(face_png.read_bytes())
    os.mkfifo(root / "pipe.jpg")
    os.symlink(root / "gone.png", root / "broken.png")
    files, skipped = scan_image_files(root)
    assert files == ["a.jpg", "sub/b.png"] == list_image_files(root)
    reasons = dict(skipped)
    assert [path for path, _ in skipped] == [
        "broken.png",
        "c.heif",
        "d.avif",
        "IMG_1.HEIC",
        "pipe.jpg",
    ]
    assert "HEIC" in reasons["IMG_1.HEIC"] and "convert it to JPEG or PNG" in reasons["c.heif"]
    assert "AVIF" in reasons["d.avif"]
    assert "named pipe (FIFO)" in reasons["pipe.jpg"]
    assert "broken link" in reasons["broken.png"]
    assert scan_image_files(root, recursive=False)[0] == ["a.jpg"]


@pytest.mark.bad_input("S6-skipped-files")
def test_an_unreadable_sub_folder_is_listed_as_skipped(tmp_path, face_png, monkeypatch):
    root = tmp_path / "photos"
    (root / "locked").mkdir(parents=True)
    (root / "a.png").write_bytes(face_png.read_bytes())
    (root / "locked" / "b.png").write_bytes(face_png.read_bytes())
    if os.geteuid() != 0:  # a real permission (root reads every folder)
        (root / "locked").chmod(0)
    else:
        real_scandir = os.scandir

        def scandir(path):
            if os.path.basename(os.fspath(path)) == "locked":
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_scandir(path)

        monkeypatch.setattr(images.os, "scandir", scandir)
    try:
        files, skipped = scan_image_files(root)
    finally:
        (root / "locked").chmod(0o755)
    assert files == ["a.png"]
    assert skipped == [("locked/", "cannot list this folder: Permission denied")]
