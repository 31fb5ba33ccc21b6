"""Input and output: the only place that decodes images and video, converts colour and dtype,
lists image files, reads clips and writes outputs.

Nothing in this package imports an estimator. Its modules:

* :mod:`fersk.io.images`: decoding files (EXIF orientation, 16-bit, any byte
  order) within a byte and a pixel budget, colour and dtype conversion;
* :mod:`fersk.io.headers`: an image's width and height from its header,
  without decoding it;
* :mod:`fersk.io.files`: the one list of image extensions and the folder
  listing, in natural order;
* :mod:`fersk.io.crops`: the square face crop framed as FER2013 frames its
  faces;
* :mod:`fersk.io.video`: the one OpenCV capture loop (clips and streams) and
  the video writer;
* :mod:`fersk.io.clips`: a clip's frames from a folder, a video, an array or
  a list, sampled uniformly;
* :mod:`fersk.io.outputs`: outputs checked before work starts and written
  atomically;
* :mod:`fersk.io.resumable`: CSVs appended block by block, resumed by a rerun,
  locked while a run writes them.
"""

from .clips import (
    ClipReadError,
    ClipSource,
    clip_name,
    read_clip,
    read_indexed_frames,
    sample_frame_indices,
)
from .crops import CROP_SCALE, CROP_SHIFT, face_crop, face_crop_window, resize_square
from .files import (
    IMAGE_EXTENSIONS,
    SKIPPED_IMAGE_EXTENSIONS,
    is_hidden,
    is_image_file,
    list_folders,
    list_image_files,
    natural_sort_key,
    natural_sorted,
    scan_image_files,
)
from .headers import image_header_size
from .images import (
    ChannelOrder,
    Color,
    ImageReadError,
    ImageSource,
    convert_color,
    decode_image_bytes,
    describe_source,
    read_file_bytes,
    read_image,
    source_digest,
    source_name,
    to_uint8,
    write_image,
)
from .outputs import AtomicFolder, AtomicOutput, check_output_path, swap_folder
from .resumable import CSVInUseError, ResumableCSV, resumed_csv
from .video import (
    VIDEO_EXTENSIONS,
    CapturedFrame,
    VideoFileWriter,
    VideoReadError,
    can_write_codec,
    capture_frames,
    count_frames,
    is_video_file,
    open_capture,
    require_decodable_frame,
    video_codecs,
    write_video,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "SKIPPED_IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "AtomicFolder",
    "AtomicOutput",
    "CSVInUseError",
    "CapturedFrame",
    "ChannelOrder",
    "ClipReadError",
    "ClipSource",
    "Color",
    "ImageReadError",
    "ImageSource",
    "ResumableCSV",
    "VideoFileWriter",
    "VideoReadError",
    "can_write_codec",
    "capture_frames",
    "check_output_path",
    "clip_name",
    "convert_color",
    "count_frames",
    "decode_image_bytes",
    "describe_source",
    "source_name",
    "image_header_size",
    "is_hidden",
    "is_image_file",
    "is_video_file",
    "list_folders",
    "list_image_files",
    "natural_sort_key",
    "natural_sorted",
    "open_capture",
    "read_clip",
    "read_file_bytes",
    "read_image",
    "read_indexed_frames",
    "resumed_csv",
    "require_decodable_frame",
    "resize_square",
    "scan_image_files",
    "face_crop",
    "face_crop_window",
    "CROP_SCALE",
    "CROP_SHIFT",
    "sample_frame_indices",
    "source_digest",
    "swap_folder",
    "to_uint8",
    "video_codecs",
    "write_image",
    "write_video",
]
