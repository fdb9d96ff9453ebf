"""Local simulators of the paid video APIs, for tests (see rivya.py and unified.py)."""

from .core import Fault, FormPart, RecordedRequest, SimTask
from .media import fake_mp4, jpeg_bytes, png_bytes, sniff_mime, webp_bytes
from .rivya import RivyaSimulator, RivyaTask, UploadedFile
from .unified import UnifiedTask, UnifiedVideoSimulator

__all__ = [
    "Fault",
    "FormPart",
    "RecordedRequest",
    "RivyaSimulator",
    "RivyaTask",
    "SimTask",
    "UnifiedTask",
    "UnifiedVideoSimulator",
    "UploadedFile",
    "fake_mp4",
    "jpeg_bytes",
    "png_bytes",
    "sniff_mime",
    "webp_bytes",
]
