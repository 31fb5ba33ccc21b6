import cv2
import numpy as np
import pytest

from fersk.io import ImageReadError, read_image, source_digest, to_uint8


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
