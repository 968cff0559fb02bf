"""Reading an onboarding file (staff, departments, micro-grid attributes, the item list) as a
table of text: a header and rows of strings, whatever the file stored.

- ``.csv`` (plain or gzip, detected by the magic number): UTF-8 with or without a byte-order
  mark, else GB18030 (what Excel on a Chinese Windows saves as "CSV"), or the encoding given.
  Comma-separated; a file whose header has tabs and no comma is read as tab-separated.
- ``.xlsx`` (openpyxl, read-only): the first sheet or the one named. Cells become the text a
  person typed: dates ``YYYY-MM-DD`` (with `` HH:MM:SS`` when not midnight), whole numbers
  without ``.0`` (a phone number or code Excel stored as a number comes out as its digits),
  booleans ``true``/``false``. The first non-empty row is the header; empty rows are skipped
  (row numbers stay the sheet's).

Every row is padded or cut to the header's width; cells are stripped. Row numbers are the
spreadsheet's (the header is row 1 in a file that starts with it), so a rejects file points at
the row a person sees in Excel. A file that cannot be read, has no header or no data row is
refused as a whole (``ImportRefused``, one line naming the file).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from .columns import KINDS, match_headers
from .csv_source import read_raw
from .errors import ImportRefused

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the Excel 97–2003 binary format (OLE2)
_UTF8 = ("utf-8", "utf8", "utf_8", "utf-8-sig")


@dataclass(frozen=True)
class Table:
    """A file read as text: its header, rows (each as long as the header) and their numbers."""

    path: Path
    sha256: str
    format: str  # 'csv' or 'xlsx'
    encoding: str  # the text encoding used ('' for xlsx)
    sheet: str  # the sheet read ('' for csv)
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]  # the spreadsheet row number of each row (header = its own row)

    def columns(self, kind: str) -> dict[str, int]:
        """{column key: index} for a file of ``kind`` (gridscope.imports.columns); refuses the
        file when a required heading is missing, naming it and the headings the file has."""
        found, missing = match_headers(kind, self.header)
        if missing:
            raise ImportRefused(
                f"{self.path}: missing required column(s) {'、'.join(missing)} for a {kind} file"
                f" (the file has: {', '.join(h for h in self.header if h)[:300] or 'nothing'});"
                f" download the template: gridscope import template {kind}"
            )
        return found

    def records(self, kind: str) -> list[dict[str, str]]:
        """Each row as {column key: text} over every column of ``kind`` ('' where the file
        lacks the column); refuses the file as ``columns`` does."""
        found = self.columns(kind)
        keys = [c.key for c in KINDS[kind]]
        return [{k: (row[found[k]] if k in found else "") for k in keys} for row in self.rows]


def cell_text(value: object) -> str:
    """An xlsx cell value as the text a person typed (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # 13805731234.0 (a phone typed into a number cell) → '13805731234'
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _decode(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    """(text, encoding used): the one given, else UTF-8, else GB18030."""
    candidates = [encoding] if encoding else ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:
            if encoding:
                line = raw.count(b"\n", 0, exc.start) + 1
                raise ImportRefused(
                    f"{path}: line {line} is not valid {encoding}: bytes "
                    f"{raw[exc.start : exc.end].hex(' ')}; give the file's encoding with "
                    f"--encoding (e.g. utf-8, gb18030)"
                ) from None
            continue
        except LookupError:
            raise ImportRefused(f"unknown encoding {encoding!r}") from None
        return text.removeprefix("\ufeff"), enc
    raise ImportRefused(
        f"{path}: the text is neither UTF-8 nor GB18030: give its encoding with --encoding"
    )


def _read_csv(path: Path, raw: bytes, digest: str, encoding: str | None) -> Table:
    text, used = _decode(path, raw, encoding)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportRefused(f"{path}: not a readable CSV file: {exc}") from None
    lines = _lines([c.strip() for c in record] for record in records)
    return _table(path, digest, "csv", used, "", *lines)


def _read_xlsx(path: Path, raw: bytes, digest: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRefused(f"{path}: not a readable xlsx workbook: {exc}") from None
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise ImportRefused(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(names)})")
        if not names:
            raise ImportRefused(f"{path}: the workbook has no sheet")
        ws = book[sheet or names[0]]
        lines = _lines([cell_text(v) for v in values] for values in ws.iter_rows(values_only=True))
    finally:
        book.close()
    return _table(path, digest, "xlsx", "", sheet or names[0], *lines)


def _lines(records: Iterable[list[str]]) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """(header, rows, row numbers) of a file's records as cell texts: the first non-empty
    record is the header, empty ones are skipped, numbers count every record from 1."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, cells in enumerate(records, start=1):
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        rows.append(cells)
        numbers.append(number)
    return header, rows, numbers


def _table(
    path: Path,
    digest: str,
    fmt: str,
    encoding: str,
    sheet: str,
    header: list[str] | None,
    rows: list[list[str]],
    numbers: list[int],
) -> Table:
    if header is None:
        raise ImportRefused(f"{path}: the file is empty")
    while header and not header[-1]:
        header.pop()
    if not rows:
        raise ImportRefused(f"{path}: no data rows below the header")
    width = len(header)
    fitted = [r[:width] if len(r) >= width else r + [""] * (width - len(r)) for r in rows]
    return Table(path, digest, fmt, encoding, sheet, header, fitted, numbers)


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read ``path`` (.csv, .csv.gz or .xlsx, told apart by content) as a ``Table``;
    ``encoding`` applies to CSV, ``sheet`` to xlsx. ImportRefused when it cannot be read."""
    raw, digest, _gzipped = read_raw(path)
    if raw.startswith(_XLS_MAGIC):
        raise ImportRefused(
            f"{path}: an Excel 97–2003 (.xls) workbook: save it as .xlsx or CSV (UTF-8)"
        )
    if raw.startswith(_XLSX_MAGIC):
        return _read_xlsx(path, raw, digest, sheet)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportRefused(f"{path}: not a readable xlsx workbook (not a zip archive)")
    if encoding and encoding.lower() in _UTF8:
        encoding = "utf-8"
    return _read_csv(path, raw, digest, encoding)
