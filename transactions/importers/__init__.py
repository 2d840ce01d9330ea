"""File importers: bytes in, a provider ``Statement`` out.

``parse_file(data, filename=, format=, options=)`` dispatches on ``format``
(``ofx`` — also QFX, OFX 1.x SGML and 2.x XML —, ``qif``, ``csv`` with a column mapping
in ``options``, ``mint`` — Mint's own CSV export). ``detect_format`` guesses it from the
content and the file name. Every failure is an ``ImportFormatError`` whose message says
which line and what was expected.
"""

from .dispatch import FORMATS, detect_format, parse_file
from .errors import ImportFormatError

__all__ = ["FORMATS", "ImportFormatError", "detect_format", "parse_file"]
