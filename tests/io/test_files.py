"""fersk.io.files: listings in natural order that say what they skip; every image extension
decodes."""

from __future__ import annotations

import os

import cv2
import pytest
from PIL import Image

from fersk.io import files as image_files
from fersk.io import natural_sorted, read_image
from fersk.io.files import list_image_files, scan_image_files


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

        monkeypatch.setattr(image_files.os, "scandir", scandir)
    try:
        files, skipped = scan_image_files(root)
    finally:
        (root / "locked").chmod(0o755)
    assert files == ["a.png"]
    assert skipped == [("locked/", "cannot list this folder: Permission denied")]


@pytest.mark.bad_input("image-extensions-decode")
def test_every_image_extension_decodes(tmp_path, face_crop):
    from fersk.io import IMAGE_EXTENSIONS

    colour = cv2.cvtColor(face_crop, cv2.COLOR_GRAY2BGR)
    for ext in sorted(IMAGE_EXTENSIONS):
        path = tmp_path / f"x{ext}"
        if ext in {".gif", ".webp"}:
            Image.fromarray(face_crop).save(path)
        else:
            assert cv2.imwrite(str(path), face_crop if ext in {".pgm", ".pbm"} else colour), ext
        assert read_image(path).shape == face_crop.shape, ext


def test_natural_sort_orders_numbers_by_value_and_ignores_case():
    assert natural_sorted(["a/img10.png", "a/img2.png", "A/img1.png", "b/img0.png"]) == [
        "A/img1.png",
        "a/img2.png",
        "a/img10.png",
        "b/img0.png",
    ]
