"""Data layer: load a labelled dataset from any source, check it, split it, and decode it for a model.

    ds = load_source("tux-photos")            # or a .zip, a folder, a .csv/.tsv/.jsonl file
    report = build_report(ds)                 # errors block training, warnings qualify results
    split = make_split(ds, seed=0)            # shared by every run of a comparison
    x = decode_images(ds, 224)                # uint8 [N, 3, 224, 224], cached on disk
    stored = store_file("photos.zip", data)   # an upload, kept by content: load_source(stored.ref)
"""

from tlcore.core.errors import DataError
from tlcore.data.builtin import BuiltinInfo, list_builtins
from tlcore.data.dataset import Dataset, ImageRef, SkippedItem, content_hash
from tlcore.data.decoded import decode_images
from tlcore.data.images import load_image
from tlcore.data.library import StoredUpload, is_upload_ref, store_file, store_folder
from tlcore.data.report import DataReport, build_report
from tlcore.data.sources import load_source
from tlcore.data.split import Split, make_split, subset_per_class

__all__ = [
    "BuiltinInfo",
    "DataError",
    "DataReport",
    "Dataset",
    "ImageRef",
    "SkippedItem",
    "Split",
    "build_report",
    "content_hash",
    "decode_images",
    "list_builtins",
    "load_image",
    "load_source",
    "make_split",
    "StoredUpload",
    "is_upload_ref",
    "store_file",
    "store_folder",
    "subset_per_class",
]
