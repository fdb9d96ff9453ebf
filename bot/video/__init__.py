"""Videos: downloading a result, the kept copies, fitting them under an upload limit, and
keeping the media folders bounded."""
