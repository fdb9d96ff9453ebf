"""Media type checks: the type is judged by the file's bytes, never its name."""

from __future__ import annotations

IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def sniff_image_type(head: bytes) -> str | None:
    """Return the MIME type of a JPEG, PNG or WebP image from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_video_type(head: bytes) -> str | None:
    """The MIME type of an MP4 (ISO media) or WebM video from its first bytes, else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


# Decimal units, as providers state their limits ("10 MB" is 10,000,000 bytes).
_UNITS = ((1_000_000, "MB", 6), (1_000, "KB", 3), (1, "bytes", 0))


def describe_size(size: int, compared_to: int | None = None) -> str:
    """A size in decimal units, exactly (10 MB, 10.48576 MB, 512 KB). With `compared_to` (a
    limit, itself shown exactly), rounded to the fewest digits that still read as larger or
    smaller than it: "10.5 MB" against 10 MB, never "10 MB; the limit is 10 MB"."""
    unit, name, most = next((u for u in _UNITS if size >= u[0]), _UNITS[-1])
    for digits in range(1 if unit > 1 else 0, most + 1):
        scale = 10**digits
        shown = round(size * scale / unit) * unit  # the shown size, times `scale`, in bytes
        exact = shown == size * scale
        other = None if compared_to is None else compared_to * scale
        if exact or (other is not None and (shown - other) * (size * scale - other) > 0):
            return f"{_in_unit(size, unit, digits)} {name}"
    return f"{_in_unit(size, unit, most)} {name}"


def _in_unit(size: int, unit: int, digits: int) -> str:
    text = f"{size / unit:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
