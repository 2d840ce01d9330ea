"""Bytes → text for every text-based import format (CSV, QIF, Mint CSV).

Bank exports come in whatever encoding the bank's Windows server used: UTF-8 with or
without a BOM (Excel adds one), cp1252 ("Latin-1") from older US and European banks,
occasionally UTF-16 from Excel's "Unicode text". Line ends are CRLF, LF or even bare CR
(classic Mac exports). Parsers downstream see one shape only: ``str`` with ``\\n``
line ends and no BOM, so their line numbers match what a person sees in an editor.
"""

from __future__ import annotations

from .errors import ImportFormatError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data: bytes) -> str:
    """Decodes an upload and normalises its line ends to ``\\n``. A stray NUL (a few
    banks' exports pad fields with them) is dropped: no text column can hold one; so is
    a byte-order mark left inside the text (a file saved twice, or pasted together), and
    a trailing DOS end-of-file mark."""
    text = normalise_newlines(_decode(data))
    if "\x00" in text or "\ufeff" in text:
        text = text.replace("\x00", "").replace("\ufeff", "")
    if "\x1a" in text:
        # DOS's end-of-file mark (Ctrl-Z), which old banking software still writes: the
        # file ends there when nothing but blanks follows it.
        end = text.index("\x1a")
        if not text[end:].replace("\x1a", "").strip():
            text = text[:end]
    return text


def _decode(data: bytes) -> str:
    """UTF-16 when a UTF-16 BOM says so; else UTF-8, falling back to cp1252.

    A file that is not valid UTF-8 is almost always cp1252 (a superset of Latin-1 for
    printable text: "Café", "€"). cp1252 leaves five bytes undefined; Latin-1 maps every
    byte, so it is the last resort and decoding never fails.
    """
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportFormatError("the file starts like UTF-16 text but is not") from exc
    data = _without_boms(data)
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def normalise_newlines(text: str) -> str:
    """CRLF and bare CR become LF; nothing else is touched (str.splitlines would also
    split on form feeds and U+2028, which would shift line numbers)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def head_text(data: bytes, size: int = 8192) -> str:
    """The first ``size`` bytes as text, for format detection only: never fails, even
    when the cut falls inside a multi-byte character."""
    head = data[:size]
    if head.startswith(UTF16_BOMS):
        return normalise_newlines(head.decode("utf-16", errors="replace"))
    head = _without_boms(head)
    try:
        return normalise_newlines(head.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut in half by the slice
            return normalise_newlines(head[: exc.start].decode("utf-8", errors="replace"))
        return normalise_newlines(head.decode("cp1252", errors="replace"))


def _without_boms(data: bytes) -> bytes:
    """The bytes after every UTF-8 byte-order mark at the start (a file re-saved by a
    tool that adds one whether or not there is one already)."""
    while data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    return data
