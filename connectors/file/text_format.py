"""How a text file is written: its encoding and, for CSV, its delimiter.

Encoding: a byte-order mark decides (UTF-8, UTF-16); otherwise the file is UTF-8 when the
whole of it decodes as UTF-8, and Windows-1252 when it does not (what Excel writes as "CSV"
in Western Europe and the Americas; Latin-1 text reads the same). A byte Windows-1252 does
not define becomes U+FFFD. The delimiter is the commonest of ``,`` ``;`` tab ``|`` outside
quotes in the header line (comma when there is none). Either can be given instead.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from icpsync.core.errors import ConfigError, FatalError

DELIMITERS = (",", ";", "\t", "|")
FALLBACK_ENCODING = "windows-1252"
_CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}


@dataclass(frozen=True)
class TextFormat:
    """The encoding a file is read with and the CSV delimiter (``None`` for JSON Lines)."""

    encoding: str
    delimiter: str | None = None
    bom: bool = False

    def describe(self) -> str:
        """``read as windows-1252, semicolon-separated`` and the like."""
        name = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        text = f"read as {name}" + (" (byte-order mark removed)" if self.bom else "")
        if self.delimiter is not None:
            text += f", {_NAMES.get(self.delimiter, repr(self.delimiter))}-separated"
        return text


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ({exc.strerror})") from exc


def detect_encoding(path: Path) -> tuple[str, bool]:
    """The encoding of ``path`` and whether it starts with a byte-order mark."""
    with _open_binary(path) as handle:
        start = handle.read(4)
        for bom, name in _BOMS:
            if start.startswith(bom):
                return name, True
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(_CHUNK):
                # ASCII is UTF-8: such a chunk is decoded only to end a character cut
                # at the end of the one before
                if not chunk.isascii() or decoder.getstate()[0]:
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return FALLBACK_ENCODING, False
    return "utf-8", False


def sniff_delimiter(header_line: str) -> str:
    """The commonest candidate delimiter outside double quotes (comma when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # first wins a tie: comma
    return best if counts[best] else ","


def delimiter_character(delimiter: str) -> str | None:
    """The delimiter a name or character stands for; None when it is neither."""
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(delimiter.lower(), delimiter)
    return value if len(value) == 1 else None


def encoding_name(encoding: str) -> str | None:
    """Python's name for an encoding (``latin1`` -> ``iso8859-1``); None when unknown."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def _delimiter_option(delimiter: str) -> str:
    value = delimiter_character(delimiter)
    if value is None:
        raise ConfigError(
            f"expected one character or tab/comma/semicolon/pipe, got {delimiter!r}",
            source="--delimiter",
        )
    return value


def detect_format(
    path: Path, *, csv_file: bool, encoding: str | None = None, delimiter: str | None = None
) -> TextFormat:
    """How to read ``path``: the given encoding and delimiter, or those detected.

    Raises:
        ConfigError: an unknown encoding or a delimiter of more than one character.
        FatalError: the file cannot be opened.
    """
    bom = False
    if encoding:
        known = encoding_name(encoding)
        if known is None:
            raise ConfigError(f"unknown encoding {encoding!r}", source="--encoding")
        encoding = known
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # a byte-order mark is never part of the header
    else:
        encoding, bom = detect_encoding(path)
    if not csv_file:
        return TextFormat(encoding, None, bom)
    if delimiter:
        return TextFormat(encoding, _delimiter_option(delimiter), bom)
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        first = handle.readline()
    return TextFormat(encoding, sniff_delimiter(first), bom)
