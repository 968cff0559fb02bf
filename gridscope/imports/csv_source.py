"""Reading a CSV file for import: gzip by magic number, the declared encoding, all text.

Everything is read as strings (empty cells stay empty strings, never NaN), so values reach the
import exactly as the file has them. The parse is pyarrow's multi-threaded CSV reader; text that
is not valid in the declared encoding refuses the whole file with the line it is on.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import ImportRefused

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8 = ("utf-8", "utf8", "utf_8", "utf-8-sig")


@dataclass(frozen=True)
class CsvFile:
    """A CSV file read into memory: its text columns, its hash and the encoding used."""

    path: Path
    sha256: str
    table: pa.Table
    encoding: str
    gzipped: bool

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)


def read_raw(path: Path) -> tuple[bytes, str, bool]:
    """(decompressed bytes, sha256 of the stored file, gzipped?); ImportRefused if unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportRefused(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportRefused(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportRefused(f"{path}: cannot read: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    gzipped = raw[:2] == _GZIP_MAGIC
    if gzipped:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportRefused(f"{path}: damaged gzip data: {exc}") from None
    return raw, digest, gzipped


def _bad_text(path: Path, data: bytes, encoding: str) -> ImportRefused | None:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.end].hex(" ")
        return ImportRefused(
            f"{path}: line {line} (data row {line - 1}) is not valid {encoding}: bytes {bad} at "
            f"column {exc.start - line_start + 1}; declare the file's encoding with --encoding "
            f"or [file] encoding in the mapping (e.g. gb18030, latin-1)"
        )
    return None


def read_csv(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> CsvFile:
    """Read ``path`` (plain or gzip) as text columns in ``encoding``; ImportRefused otherwise."""
    raw, digest, gzipped = read_raw(path)
    enc = encoding.lower()
    if enc in _UTF8:
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
    else:
        if (err := _bad_text(path, raw, encoding)) is not None:
            raise err
        # pyarrow parses UTF-8 only: transcode once.
        raw = raw.decode(encoding).encode("utf-8")
    if not raw.strip():
        raise ImportRefused(f"{path}: the file is empty")
    try:
        first = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
        header = next(csv.reader([first], delimiter=delimiter))
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if enc in _UTF8 and (err := _bad_text(path, raw, "utf-8")) is not None:
            raise err from None
        reason = str(exc).strip().splitlines()[0]
        raise ImportRefused(f"{path}: not a readable CSV file: {reason}") from None
    return CsvFile(path=path, sha256=digest, table=table, encoding=encoding, gzipped=gzipped)
