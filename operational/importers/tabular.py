"""Spreadsheet files in and out for the importers: CSV or .xlsx rows under aliased headers, and
the report of problems (columns ``row``, ``field``, ``problem``).

What clerks send is what their legacy system or Excel wrote, so reading is tolerant where it can
be and loud where it cannot:

- CSV is UTF-8 (with or without the BOM Excel adds) or GBK/GB18030 (what Excel writes on a
  Chinese Windows); anything else is refused with a clear message. Comma, tab or semicolon
  separated.
- .xlsx: the first sheet, read-only; cells come as Excel typed them (numbers, dates, text).
- Headers are matched case-, blank- and full-width-insensitively against each column's aliases
  (``member_no``, ``Member No``, ``会员编号``…). Unknown columns are reported once as a warning; a
  missing required column is a file-level :class:`ImportFileError`.
- Each row keeps its spreadsheet row number (the header is row 1), so a report line points at
  the row the clerk sees in Excel.
- Columns of kind ``code`` (ID numbers, mobiles, member numbers) are never rounded: an 18-digit
  ID number typed into an Excel cell formatted as a number keeps only 15 significant digits; such
  a cell (or ``1.10105E+17`` in a CSV saved by Excel) is a row problem, not a wrong number.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from operational.services.common import ServiceError

Kind = Literal["text", "code", "date", "datetime", "integer", "decimal"]

#: Largest integer a float (an Excel number) holds exactly; longer numbers lost digits.
_EXACT_FLOAT_LIMIT = 2**53
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?e\+?\d+", re.IGNORECASE)
_HEADER_NOISE = re.compile(r"[\s_\-*:：·.]+")
_HEADER_NOTE = re.compile(r"[(（\[【].*?[)）\]】]")
_DATE_TEXT = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# Excel stores dates as days since 1899-12-30; a bare number in this range in a date column is
# such a serial (1954-10-03 .. 2119-01-10), not a year or an amount.
_EXCEL_SERIALS = range(20_000, 80_000)


class ImportFileError(ServiceError):
    """The file as a whole cannot be imported (unreadable, wrong encoding, missing column).

    Nothing was imported; the message says what to fix.
    """

    code = "import_file"


@dataclass(frozen=True)
class Column:
    """One column an importer understands: its field name, header aliases and kind of value."""

    field: str
    aliases: tuple[str, ...] = ()
    kind: Kind = "text"
    required: bool = False


@dataclass(frozen=True)
class RowProblem:
    """One line of an import report."""

    row: int
    field: str
    problem: str


@dataclass
class Row:
    """One data row: values by field (converted to the column's kind; blank cells are None)."""

    number: int  # spreadsheet row number; the header is row 1
    values: dict[str, object]
    problems: list[RowProblem] = field(default_factory=list)  # cells that could not be read


@dataclass
class Table:
    """An opened import file. ``rows`` is consumed once, while the file is open."""

    path: Path
    file_format: str  # "CSV, UTF-8", "CSV, GBK", "Excel .xlsx"
    header_row: int
    fields: tuple[str, ...]  # fields present, in file order
    warnings: list[RowProblem]
    rows: Iterator[Row]
    row_count_hint: int | None  # data rows, when known cheaply (for a progress bar)


# -- headers ------------------------------------------------------------------------------------
def header_key(text: object) -> str:
    """'Member No', 'member_no', 'ＭＥＭＢＥＲ　ＮＯ', '会员编号(必填)' -> one comparable key."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    folded = _HEADER_NOTE.sub("", folded)
    return _HEADER_NOISE.sub("", folded)


def _alias_map(columns: Sequence[Column]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for column in columns:
        for alias in (column.field, *column.aliases):
            key = header_key(alias)
            known = aliases.setdefault(key, column.field)
            if known != column.field:
                raise ValueError(f"alias {alias!r} names both {known} and {column.field}")
    return aliases


def _map_header(
    cells: Sequence[object], columns: Sequence[Column], header_row: int, path: Path
) -> tuple[dict[int, Column], list[RowProblem]]:
    aliases = _alias_map(columns)
    by_field = {column.field: column for column in columns}
    positions: dict[int, Column] = {}
    seen: dict[str, str] = {}
    warnings: list[RowProblem] = []
    for index, cell in enumerate(cells):
        text = _plain(cell)
        if text is None:
            continue
        name = aliases.get(header_key(text))
        if name is None:
            warnings.append(
                RowProblem(
                    header_row,
                    text,
                    f"unknown column {text!r} ignored (known columns: "
                    f"{', '.join(c.field for c in columns)})",
                )
            )
            continue
        if name in seen:
            raise ImportFileError(
                f"{path.name}: columns {seen[name]!r} and {text!r} both mean {name} — "
                "keep one of them and import again",
                code="ambiguous_column",
                field=name,
            )
        seen[name] = text
        positions[index] = by_field[name]
    missing = [c for c in columns if c.required and c.field not in seen]
    if missing:
        wanted = "; ".join(
            f"{c.field} (or {', '.join(c.aliases[:3])})" if c.aliases else c.field for c in missing
        )
        found = ", ".join(t for t in (_plain(c) for c in cells) if t) or "nothing"
        raise ImportFileError(
            f"{path.name}: row {header_row} must name the columns, and a required column is "
            f"missing: {wanted}. Found: {found}. Add the column (or fix its heading) and import "
            "again",
            code="missing_column",
            field=missing[0].field,
        )
    return positions, warnings


# -- cells --------------------------------------------------------------------------------------
def _plain(value: object) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def convert_cell(value: object, column: Column) -> object:
    """The cell as the column's kind; ``None`` for a blank cell.

    Raises ``ValueError`` with a message for the report when the cell cannot be that kind.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    kind = column.kind
    if kind == "code":
        return _code(value)
    if kind == "text":
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return _number_text(value)
        if isinstance(value, datetime):
            return value.date().isoformat() if value.time() == time() else value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return _plain(value)
    if kind == "date":
        return parse_date(value)
    if kind == "datetime":
        return parse_datetime(value)
    if kind == "integer":
        return parse_integer(value)
    if kind == "decimal":
        return parse_decimal(value)
    raise AssertionError(kind)


def _code(value: object) -> str | None:
    """Identifiers: digits exactly as written; a number that lost digits is refused."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number or code")
    if isinstance(value, float):
        if not value.is_integer() and abs(value) < 1e15:
            raise ValueError(f"{value} is not a number or code — re-check the cell")
        if abs(value) >= _EXACT_FLOAT_LIMIT or not value.is_integer():
            raise ValueError(
                f"the cell holds the number {value:.15g}, which lost digits: Excel keeps only 15 "
                "significant digits of a number — format the column as Text, type the value "
                "again and import again"
            )
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        raise ValueError(f"{value!s} is a date, not a number or code — re-check the column")
    text = _plain(value)
    if text is not None and _SCIENTIFIC.fullmatch(text.replace(",", "")):
        raise ValueError(
            f"{text!r} is a number in scientific notation and its last digits are lost (the file "
            "was saved from Excel with the column formatted as a number) — format the column as "
            "Text, type the value again and import again"
        )
    return text


def parse_date(value: object) -> date:
    """A date cell, an Excel date serial, or text: 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日,
    20240501 (a time after the date is ignored)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if int(value) in _EXCEL_SERIALS:
            from openpyxl.utils.datetime import from_excel

            return from_excel(int(value)).date()
        if 19000101 <= value <= 21001231:
            value = _number_text(value)
        else:
            raise ValueError(f"{value!r} is not a date — write it as YYYY-MM-DD, e.g. 2024-05-01")
    text = _plain(value) or ""
    day_text = text.split(" ")[0].split("T")[0]
    for pattern in _DATE_TEXT:
        match = pattern.fullmatch(day_text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise ValueError(f"{text!r} is not a date — write it as YYYY-MM-DD, e.g. 2024-05-01")


def parse_datetime(value: object) -> datetime:
    """A date-time cell or text '2024-05-01 14:30[:00]' (naive; the importer gives the zone).

    A date alone means midnight.
    """
    if isinstance(value, datetime):
        return value
    day = parse_date(value)
    if isinstance(value, date | int | float):
        return datetime.combine(day, time())
    text = _plain(value) or ""
    rest = re.split(r"[ T]", text, maxsplit=1)[1:] if (" " in text or "T" in text) else []
    if not rest:
        return datetime.combine(day, time())
    match = _TIME_TEXT.fullmatch(rest[0].strip())
    if match is None:
        raise ValueError(f"{text!r} is not a date and time — write it as YYYY-MM-DD HH:MM")
    hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime.combine(day, time(hour, minute, second))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day — write it as HH:MM") from None


def parse_integer(value: object) -> int:
    """A whole number: 1000, 1,000, １０００, 1000.0."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"{value} is not a whole number — round it")
    text = (_plain(value) or "").replace(",", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{_plain(value)!r} is not a whole number") from None
    if number != number.to_integral_value():
        raise ValueError(f"{_plain(value)!r} is not a whole number — round it")
    return int(number)


def parse_decimal(value: object) -> Decimal:
    """An amount: 1234.5, 1,234.50, ¥1234.5 (a float cell through its shortest repr)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = (_plain(value) or "").replace(",", "").replace(" ", "").lstrip("¥￥")
    text = text.removesuffix("元")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(
            f"{_plain(value)!r} is not an amount — write digits, e.g. 1234.50"
        ) from None
    if not number.is_finite():
        raise ValueError(f"{_plain(value)!r} is not an amount")
    return number


# -- files --------------------------------------------------------------------------------------
@contextmanager
def open_table(path: str | Path, columns: Sequence[Column]) -> Iterator[Table]:
    """Open a CSV or .xlsx file whose first non-blank row names the columns.

    Raises :class:`ImportFileError` for a missing, unreadable or badly headed file before any row
    is read, so an importer can refuse the whole file without writing anything.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(
            f"{path}: no such file — check the path", code="file_not_found", field=None
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        yield _open_csv(path, columns)
    elif suffix in (".xlsx", ".xlsm"):
        with _open_xlsx(path, columns) as table:
            yield table
    elif suffix == ".xls":
        raise ImportFileError(
            f"{path.name}: old Excel (.xls) files are not read — open it in Excel and save it as "
            ".xlsx (Excel Workbook) or CSV, then import that file",
            code="unsupported_format",
        )
    else:
        raise ImportFileError(
            f"{path.name}: only CSV (.csv) and Excel (.xlsx) files can be imported",
            code="unsupported_format",
        )


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding it had: UTF-8 (BOM optional), else GB18030."""
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name}: the text is neither UTF-8 nor GBK (unreadable byte at position "
            f"{exc.start}) — save the file again as 'CSV UTF-8' from Excel",
            code="encoding",
        ) from None


def _open_csv(path: Path, columns: Sequence[Column]) -> Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            f"{path.name}: this is an Excel workbook, not CSV text — rename it to .xlsx",
            code="unsupported_format",
        )
    text, encoding = decode_text(data, path.name)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = enumerate(reader, start=1)
    header_row, header = _first_non_blank(records, path)
    positions, warnings = _map_header(header, columns, header_row, path)
    hint = max(len(text.splitlines()) - header_row, 0)
    return Table(
        path=path,
        file_format=f"CSV, {encoding}",
        header_row=header_row,
        fields=tuple(c.field for c in positions.values()),
        warnings=warnings,
        rows=_rows(records, positions),
        row_count_hint=hint,
    )


@contextmanager
def _open_xlsx(path: Path, columns: Sequence[Column]) -> Iterator[Table]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(
            f"{path.name}: not a readable Excel .xlsx file ({exc}) — open it in Excel and save it "
            "again as Excel Workbook (.xlsx) or CSV",
            code="unreadable_file",
        ) from None
    try:
        if not workbook.worksheets:
            raise ImportFileError(f"{path.name}: the workbook has no sheet", code="empty_file")
        sheet = workbook.worksheets[0]
        records = enumerate(sheet.iter_rows(values_only=True), start=1)
        header_row, header = _first_non_blank(records, path)
        positions, warnings = _map_header(header, columns, header_row, path)
        max_row = sheet.max_row
        yield Table(
            path=path,
            file_format="Excel .xlsx",
            header_row=header_row,
            fields=tuple(c.field for c in positions.values()),
            warnings=warnings,
            rows=_rows(records, positions),
            row_count_hint=(max_row - header_row) if max_row else None,
        )
    finally:
        workbook.close()


def _first_non_blank(
    records: Iterator[tuple[int, Sequence[object]]], path: Path
) -> tuple[int, Sequence[object]]:
    for number, cells in records:
        if any(_plain(cell) for cell in cells):
            return number, cells
    raise ImportFileError(
        f"{path.name}: the file is empty — the first row must name the columns",
        code="empty_file",
    )


def _rows(
    records: Iterator[tuple[int, Sequence[object]]], positions: dict[int, Column]
) -> Iterator[Row]:
    for number, cells in records:
        if not any(_plain(cell) for cell in cells):
            continue  # blank lines between blocks of data
        row = Row(number=number, values={c.field: None for c in positions.values()})
        for index, column in positions.items():
            raw = cells[index] if index < len(cells) else None
            try:
                row.values[column.field] = convert_cell(raw, column)
            except ValueError as exc:
                row.problems.append(RowProblem(number, column.field, str(exc)))
        yield row


# -- report -------------------------------------------------------------------------------------
REPORT_COLUMNS = ("row", "field", "problem")


def write_report(problems: Sequence[RowProblem], path: str | Path) -> list[Path]:
    """Write the problems as CSV (UTF-8 with BOM, so Excel shows Chinese) and, when ``path``
    ends with .xlsx, as an Excel sheet as well (the CSV beside it). Returns the files written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_path = path.with_suffix(".csv") if path.suffix.lower() == ".xlsx" else path
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for problem in problems:
            writer.writerow((problem.row, problem.field, problem.problem))
    written = [csv_path]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("problems")
        sheet.append(REPORT_COLUMNS)
        for problem in problems:
            sheet.append((problem.row, problem.field, problem.problem))
        workbook.save(path)
        written.append(path)
    return written


@dataclass
class ImportReport:
    """What an import did: counts, and the problems of the rows it refused.

    ``problems`` holds every problem of every rejected row (a row may have several);
    ``warnings`` holds file-level remarks such as an ignored unknown column (reported on the
    header row). Both go to the report file, warnings first.
    """

    path: Path
    file_format: str = ""
    rows: int = 0  # non-blank data rows read
    imported: int = 0
    already_present: int = 0  # rows whose record exists already (skipped, not rejected)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({problem.row for problem in self.problems})

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    def reject(self, row: int, problems: Sequence[RowProblem]) -> None:
        assert problems, "a rejected row needs at least one problem"
        self.problems.extend(RowProblem(row, p.field, p.problem) for p in problems)

    def write(self, path: str | Path) -> list[Path]:
        """Write the report file(s); see :func:`write_report`."""
        return write_report([*self.warnings, *self.problems], path)

    def summary_lines(self, *, max_problems: int = 20) -> list[str]:
        """Human summary; the last line is always ``imported: N, rejected: M``."""
        lines = [f"read {self.rows} row(s) from {self.path.name} ({self.file_format})"]
        lines += [f"warning: {w.problem}" for w in self.warnings]
        if self.already_present:
            lines.append(f"already present (skipped): {self.already_present}")
        for problem in self.problems[:max_problems]:
            lines.append(f"row {problem.row}, {problem.field}: {problem.problem}")
        if len(self.problems) > max_problems:
            lines.append(f"... and {len(self.problems) - max_problems} more problem(s)")
        lines.append(f"imported: {self.imported}, rejected: {self.rejected}")
        return lines
