"""Bytes to text for text-like files: the encoding detected, non-text refused by its content.

In order: a byte-order mark (UTF-8, UTF-16 and UTF-32, either byte order); UTF-16 without a
mark, recognised by its zero high bytes; then UTF-8; then Windows-1252 (a superset of
Latin-1's printable range, what legacy Western text files use), or else UTF-16 of other
scripts if it decodes strictly to assigned characters. Whatever decodes, text it is
only if almost every character is printable: random bytes decode as Windows-1252 too, but a
sixth of them land on control characters, where real text has next to none.
"""

from __future__ import annotations

import codecs
import unicodedata

from ragcore.errors import SourceError

_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SAMPLE = 65536  # bytes looked at to decide
MAX_CONTROL_SHARE = 0.02  # of the sample's characters; real text has ~0, random bytes ~0.17
#: shorter unmarked files are not guessed to be UTF-16 of other scripts: in 256 bytes random
#: bytes fail the strict decoding or land in private-use code points (~10% of them)
MIN_UTF16_GUESS = 256
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_HINT = "only text, Markdown, HTML, PDF and DOCX files are read; exclude it or convert it"


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of mostly ASCII-range characters has a zero in every other byte."""
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_zero = sum(b == 0 for b in sample[0 : 2 * pairs : 2]) / pairs
    odd_zero = sum(b == 0 for b in sample[1 : 2 * pairs : 2]) / pairs
    if odd_zero > 0.7 and even_zero < 0.1:
        return "utf-16-le"
    if even_zero > 0.7 and odd_zero < 0.1:
        return "utf-16-be"
    return None


def _utf16_of_other_scripts(data: bytes) -> str | None:  # the encoding
    """UTF-16 without a mark whose characters lie outside the ASCII range (CJK, say), so no
    zero bytes show it: it must decode strictly (random bytes hit unpaired surrogates) to
    assigned, non-private characters, broken into lines or words."""
    if len(data) % 2 or len(data) < MIN_UTF16_GUESS:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[: SAMPLE // 2]
        odd = sum(unicodedata.category(ch) in ("Cn", "Co") for ch in sample)
        breaks = sum(ch in " \n\u3000" for ch in sample)  # text has lines or words
        if (
            sample
            and odd / len(sample) <= MAX_CONTROL_SHARE
            and breaks >= max(1, len(sample) // 500)
            and _is_text(text)
        ):
            return encoding
    return None


def _is_text(text: str) -> bool:
    sample = text[:SAMPLE]
    if not sample:
        return True
    bad = sum(
        (ch < " " and ch not in _ALLOWED_CONTROLS) or "\x7f" <= ch <= "\x9f" or ch == "\ufffd"
        for ch in sample
    )
    return bad / len(sample) <= MAX_CONTROL_SHARE


def detect_encoding(data: bytes) -> str:
    """The encoding ``decode_text`` uses for ``data`` (raises ``SourceError`` if binary)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding + ("-sig" if encoding == "utf-8" else "")
    sample = data[:SAMPLE]
    if (utf16 := _utf16_without_bom(sample)) is not None:
        return utf16
    if b"\x00" in sample:
        if (utf16 := _utf16_of_other_scripts(data)) is not None:
            return utf16
        raise SourceError("binary content (NUL bytes) in a text file", _HINT)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(data) > SAMPLE:
            return "utf-8"  # a character cut at the sample's end
    if _is_text(sample.decode("cp1252", errors="replace")):
        return "cp1252"
    return _utf16_of_other_scripts(data) or "cp1252"  # else cp1252 fails the text test


def decode_text(data: bytes) -> str:
    """The text of ``data``, or ``SourceError`` naming why it is not text."""
    encoding = detect_encoding(data)
    body = data[len(_bom_of(data)) :]
    # errors="replace": an invalid byte past the sample, or one of cp1252's five undefined
    # bytes, becomes U+FFFD, which the text test counts against the file
    text = body.decode(encoding.removesuffix("-sig"), errors="replace")
    if not _is_text(text):
        raise SourceError(f"not text: mostly control characters as {encoding}", _HINT)
    return text


def _bom_of(data: bytes) -> bytes:
    return next((bom for bom, _ in _BOMS if data.startswith(bom)), b"")
