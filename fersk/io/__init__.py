"""Input and output: the only place that decodes images and video, converts colour and dtype,
lists image files, reads clips and writes outputs.

Nothing in this package imports an estimator. Its modules:

* :mod:`fersk.io.images`: decoding files (EXIF orientation, 16-bit, any byte
  order), colour conversion, the one list of image extensions and the folder
  listing;
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
from .images import (
    CROP_SCALE,
    CROP_SHIFT,
    IMAGE_EXTENSIONS,
    SKIPPED_IMAGE_EXTENSIONS,
    ChannelOrder,
    Color,
    ImageReadError,
    ImageSource,
    convert_color,
    decode_image_bytes,
    describe_source,
    face_crop,
    face_crop_window,
    image_header_size,
    is_hidden,
    is_image_file,
    list_folders,
    list_image_files,
    natural_sort_key,
    natural_sorted,
    read_file_bytes,
    read_image,
    resize_square,
    scan_image_files,
    source_digest,
    to_uint8,
    write_image,
)
from .outputs import AtomicFolder, AtomicOutput, check_output_path, swap_folder
from .resumable import CSVInUseError, ResumableCSV
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
