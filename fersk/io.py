"""Reading images from paths or arrays into a known colour layout.

Every fersk step that looks at pixels goes through :func:`read_image`, so
grayscale, RGB, OpenCV's BGR, RGBA and 16-bit images are handled in one place
and a bad input fails with a message naming the sample and the problem.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

ImageSource = str | os.PathLike | np.ndarray
"""A path to an image file, or an image array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``."""

Color = Literal["gray", "rgb"]
ChannelOrder = Literal["rgb", "bgr"]

__all__ = [
    "IMAGE_EXTENSIONS",
    "AtomicOutput",
    "ImageReadError",
    "ImageSource",
    "check_output_path",
    "decode_image_bytes",
    "describe_source",
    "is_image_file",
    "read_file_bytes",
    "read_image",
    "resize_square",
    "source_digest",
    "to_uint8",
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

    Examples
    --------
    >>> is_image_file("face.JPG"), is_image_file("anim.gif"), is_image_file("notes.txt")
    (True, True, False)
    """
    return os.path.splitext(os.fspath(name))[1].lower() in IMAGE_EXTENSIONS


class ImageReadError(ValueError):
    """An image file or array could not be turned into an image.

    Examples
    --------
    >>> from fersk.io import read_image, ImageReadError
    >>> try:
    ...     read_image("/no/such/file.png")
    ... except ImageReadError as err:
    ...     print("cannot read" in str(err))
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


def _convert(image: np.ndarray, color: Color, channel_order: ChannelOrder) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image if color == "gray" else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageReadError(
            f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}"
        )
    if image.shape[2] == 4:  # drop alpha: fersk reads the face, not its transparency
        image = image[:, :, :3]
    if color == "gray":
        code = cv2.COLOR_RGB2GRAY if channel_order == "rgb" else cv2.COLOR_BGR2GRAY
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if channel_order == "bgr":
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


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
    return _convert(to_uint8(image), color, "bgr")


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
    fersk.io.ImageReadError: cannot read image file '/no/such.png': No such file or directory
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
        if source.size == 0:
            raise ImageReadError(f"empty image array of shape {source.shape}")
        return _convert(to_uint8(source), color, channel_order)
    if isinstance(source, (str, os.PathLike)):
        return decode_image_bytes(read_file_bytes(source), color=color, name=repr(str(source)))
    raise ImageReadError(f"expected a file path or an image array, got {type(source).__name__}")


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
# Output files: checked before work starts, written atomically
# --------------------------------------------------------------------------


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output_path(path: str | os.PathLike, *, inputs: tuple = (), what: str = "output") -> str:
    """Check that ``path`` can be written as an output file; return it as a string.

    Refuses (``ValueError``, naming ``what`` and the path): a folder, a path
    in a folder that does not exist, and a path that is one of ``inputs`` (an
    output must never overwrite what is being read). Call it before any work
    starts, so a mistake costs nothing.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_output_path(os.path.join(d, "out.csv")).endswith("out.csv")
    True
    >>> check_output_path(d, what="--csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --csv ... is a folder; give a file name
    """
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what}: empty path")
    if os.path.isdir(text):
        raise ValueError(f"{what} {text!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {text!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{what} {text!r}: folder {folder!r} is not writable")
    for source in inputs:
        if isinstance(source, (str, os.PathLike)) and _same_file(text, os.fspath(source)):
            raise ValueError(
                f"{what} {text!r} is the input {os.fspath(source)!r}; writing it would destroy "
                "the input. Choose another output file"
            )
    return text


class AtomicOutput:
    """Write a file under a temporary name; move it into place when done.

    An existing file at ``path`` is replaced only when the writing finishes
    (or is interrupted with Ctrl-C, keeping what was written, as fersk's
    resumable outputs promise); any other failure removes the temporary file
    and leaves ``path`` untouched. The temporary file sits in the same folder
    and keeps the extension (video writers choose their container by it).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with AtomicOutput(path) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(path).read()
    'done'
    >>> try:
    ...     with AtomicOutput(path) as tmp:
    ...         _ = open(tmp, "w").write("half")
    ...         raise RuntimeError("failed")
    ... except RuntimeError:
    ...     pass
    >>> open(path).read()  # the earlier result survives a failed run
    'done'
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.tmp: str | None = None

    def __enter__(self) -> str:
        import tempfile

        folder, name = os.path.split(os.path.abspath(self.path))
        stem, ext = os.path.splitext(name)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{ext}", dir=folder)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
        return self.tmp

    def commit(self) -> None:
        """Move the temporary file into place now."""
        if self.tmp is not None and os.path.exists(self.tmp):
            os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self) -> None:
        """Remove the temporary file; leave ``path`` as it was."""
        if self.tmp is not None:
            Path(self.tmp).unlink(missing_ok=True)
        self.tmp = None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.commit()
        else:
            self.discard()
