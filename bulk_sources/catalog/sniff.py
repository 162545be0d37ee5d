"""What kind of file a catalog is, checked before and while reading it as text.

Each check ends in a CatalogError whose one sentence says how to fix the file: a FIFO or a
device (refused from `stat`, before anything is opened, so nothing blocks), a binary file,
bytes that are not valid in the encoding. What can be worked out instead of refused is
worked out: a UTF-16 or UTF-32 byte order mark (Excel's "Unicode text" export) picks the
encoding, and a `;` or tab header (spreadsheets in many locales) picks the delimiter.
"""

from __future__ import annotations

import codecs
import csv
import io
import stat
from pathlib import Path

from ..errors import CatalogError
from .columns import target_of

_CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive; an Excel workbook must be named .xlsx",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook; save it as .xlsx or CSV (UTF-8)",
}
# Bytes that text never holds (tab, line breaks, form feed and escape aside): a file with
# many is binary; one NUL here and there is a row's problem, not the file's.
_CONTROL_BYTES = bytes([*range(9), 11, *range(14, 27), *range(28, 32)])
DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def check_regular_file(path: Path) -> int:
    """The file's size, after making sure it is a regular file (stat only: nothing blocks)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CatalogError(f"{path} does not exist; check the path to the catalog file") from None
    except OSError as exc:
        raise CatalogError(f"{path} can't be read ({exc.strerror}); check the path") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise CatalogError(f"{path} is a folder; give the path to a CSV or Parquet file")
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise CatalogError(
            f"{path} is {kind}, not a file; save the catalog to a regular file and give that"
        )
    return info.st_size


def bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def check_binary(path: Path, head: bytes, codec: str) -> None:
    """Refuse files that are not text at all; NUL bytes here and there are rows' problems."""
    for magic, what in _BINARY_SIGNATURES.items():
        if head.startswith(magic):
            raise CatalogError(f"{path} is not a CSV or Parquet file, it looks like {what}")
    if codec.startswith(("utf-16", "utf-32")) or b"\x00" not in head:
        return
    sample = head[:4096]
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    if (
        len(sample) >= 8
        and max(odd, even) > len(sample) // 4
        and min(odd, even) < max(odd, even) / 4
    ):
        # Every other byte zero: UTF-16 text saved without a byte order mark.
        endian = "le" if odd > even else "be"
        raise CatalogError(
            f"{path} looks like UTF-16 text without a byte order mark; pass "
            f"--encoding utf-16-{endian}, or save it as CSV (UTF-8)"
        )
    controls = sum(sample.count(b) for b in _CONTROL_BYTES)
    if controls > len(sample) // 20:
        raise CatalogError(
            f"{path} is not a CSV or Parquet file (it contains binary data); "
            "give a UTF-8 CSV file, a Parquet file or an .xlsx workbook"
        )


def check_decodes(path: Path, codec: str) -> bool:
    """Decode the whole file once; CatalogError naming the line of the first bad byte.

    Done up front so a bad byte on line 900,000 stops the run before anything was sent.
    Returns whether the file holds a NUL character anywhere (those rows are then checked).
    """
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    line = 1
    nul = False
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = line + exc.object[: exc.start].count(b"\n")
                bad = exc.object[exc.start : exc.start + 1]
                raise CatalogError(
                    f"{path} line {at} is not valid {codec.removesuffix('-sig')} "
                    f"(byte {bad!r}); save the file as UTF-8 or "
                    "pass its encoding, e.g. --encoding cp1252"
                ) from None
            nul = nul or "\x00" in text
            line += text.count("\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CatalogError(
                f"{path} ends in the middle of a character (line {line}); the file is "
                "truncated or needs --encoding"
            ) from None
    return nul


def first_line(path: Path, codec: str) -> str:
    with path.open("r", encoding=codec, newline="") as f:
        # A header longer than this is not a header a person wrote.
        return f.readline(1 << 16)


def pick_delimiter(line: str) -> str:
    """The delimiter under which the header names the most fields; a comma on a tie."""

    def known(delimiter: str) -> int:
        cells = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
        return sum(target_of(c) is not None for c in cells)

    scores = {d: known(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (scores[d], d == ","))
    return best if scores[best] > scores[","] else ","


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))
