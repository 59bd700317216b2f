"""Turning rows into file bytes: CSV, XLSX and SPSS, each produced chunk by chunk.

Each writer is a generator of ``bytes`` that returns the number of data rows it wrote,
so an HTTP response can send the file as it is made and the command line can write it
to disk. CSV goes out every 64 KiB. XLSX rows go to openpyxl's write-only sheets
(which spool to temporary files), and the finished workbook is read back in chunks.
SPSS is the one exception to streaming: pyreadstat writes from a pandas DataFrame, so
the rows of one survey are held in memory while the file is written.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from bisect import bisect_left
from collections.abc import Collection, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import accumulate, compress, islice, repeat
from operator import add, ne
from pathlib import Path
from typing import IO, Any

import pandas
import pyreadstat
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .variables import DATE_FORMAT, Variable

CHUNK = 64 * 1024
CSV_BATCH = 1000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Stop a free-text answer such as ``=HYPERLINK(...)`` running as a formula in Excel."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    return spreadsheet_safe(value)


# A cell that starts like a formula, in a column joined with NUL before every cell.
_FORMULA_CELL = re.compile("\x00[=+@\t\r-]")
_PLAIN = frozenset((int, float, bool, type(None)))


def _csv_column(values: tuple[object, ...]) -> Sequence[object]:
    """One column of a batch as ``_csv_cell`` makes each cell, a whole column at a time.

    The csv module writes None as an empty field, so numbers and gaps pass as they are;
    a column of text is searched for a formula start in one regular-expression pass.
    A text that holds a NUL itself can only cause a false alarm, which goes cell by cell.
    """
    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return values
    if kinds <= {str, type(None)}:
        joined = "\x00" + "\x00".join(filter(None, values))  # type: ignore[arg-type]
        if _FORMULA_CELL.search(joined) is None:
            return values
    return [_csv_cell(value) for value in values]


def _places(block: str, token: str) -> Iterator[int]:
    """Every place ``token`` starts in ``block``."""
    place = block.find(token)
    while place >= 0:
        yield place
        place = block.find(token, place + 1)


def _lines_needing_care(lines: list[str], width: int) -> set[int]:
    """Which ``lines`` (``width`` text cells joined with commas) hold a cell to change.

    The csv module quotes a cell holding a comma, a quote or a line break; ``_csv_cell``
    guards one that starts like a formula. Rather than look at every cell, this scans
    the batch joined into one string, in which every cell starts the string or follows
    a comma, once for each such character (str.find runs in C), and maps each place
    found back to its line; a comma inside a cell gives its line too many commas. A
    false alarm, such as one cell holding "a,=b", only costs that row's speed.
    """
    block = ",".join(lines)
    places = [place for mark in '"\r\n' for place in _places(block, mark)]
    places += [place + 1 for start in _FORMULA_STARTS if start in block
               for place in _places(block, "," + start)]
    care: set[int] = set()
    if places:
        # The place of the comma after each line: a place belongs to the first line
        # whose end is not before it.
        ends = list(map(add, accumulate(map(len, lines)), range(len(lines))))
        care.update(map(partial(bisect_left, ends), places))
    if block[:1] in _FORMULA_STARTS:
        care.add(0)
    if block.count(",") != len(lines) * width - 1:
        commas = map(str.count, lines, repeat(","))
        care.update(compress(range(len(lines)), map(ne, commas, repeat(width - 1))))
    if width == 1:
        # A row's only cell, when it is empty, is quoted so that the row is not lost.
        care.update(at for at, line in enumerate(lines) if not line)
    return care


def _write_text(batch: list[Sequence[object]], width: int, numeric: Collection[int],
                buffer: IO[str], writer: Any) -> bool:
    """Write a batch of text alone to ``buffer``; False, writing nothing, if it is not.

    Each row is joined with commas in one C call, and only the rows holding a cell that
    must be quoted or guarded (``_lines_needing_care``) go through the column path's
    guard and the csv ``writer``, in their place between the runs of joined lines.
    """
    try:
        lines = list(map(",".join, batch))  # type: ignore[arg-type]
    except TypeError:  # a number, a date or a gap: the column path converts each
        return False
    care = sorted(_lines_needing_care(lines, width))
    columns = zip(*map(batch.__getitem__, care), strict=True)
    careful = zip(*(column if at in numeric else _csv_column(column)
                    for at, column in enumerate(columns)), strict=True)
    done = 0
    for at, row in zip(care, careful, strict=True):
        if at > done:
            buffer.write("\r\n".join(lines[done:at]) + "\r\n")
        writer.writerow(row)
        done = at + 1
    if done < len(lines):
        buffer.write("\r\n".join(lines[done:]) + "\r\n")
    return True


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]],
               numeric: Collection[int] = ()) -> Generator[bytes, None, int]:
    """A CSV file (UTF-8 with a byte-order mark, so Excel reads accents and emoji).

    Rows go ``CSV_BATCH`` at a time: per-cell Python calls were most of an export's
    time. A batch of text alone (the long export's) is joined row by row and only the
    rows that need it are written cell by cell (``_write_text``); any other batch is
    made ready column by column and written with ``writerows``. The columns numbered
    in ``numeric`` hold numbers the database wrote as text: written as they are, never
    taken for a formula (a code of "-1" is a number).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    prefix, count = codecs.BOM_UTF8, 0
    rows = iter(rows)
    while batch := list(islice(rows, CSV_BATCH)):
        if not _write_text(batch, len(header), numeric, buffer, writer):
            columns = (column if at in numeric else _csv_column(column)
                       for at, column in enumerate(zip(*batch, strict=True)))
            writer.writerows(zip(*columns, strict=True))
        count += len(batch)
        if buffer.tell() >= CHUNK:
            yield prefix + buffer.getvalue().encode("utf-8")
            prefix = b""
            buffer.seek(0)
            buffer.truncate()
    yield prefix + buffer.getvalue().encode("utf-8")
    return count


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        yield chunk


@dataclass
class Sheet:
    """One worksheet: its title, header row and rows (counted in the total or not)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    counted: bool = True


def _xlsx_cell(value: object) -> object:
    if isinstance(value, str):
        # Control characters are not allowed in an XLSX file; a text message may hold one.
        return spreadsheet_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def xlsx_chunks(sheets: Iterable[Sheet]) -> Generator[bytes, None, int]:
    """An XLSX workbook with ``sheets`` in order, header rows bold and frozen."""
    workbook = Workbook(write_only=True)
    count = 0
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.title)
        worksheet.freeze_panes = "A2"
        bold = []
        for name in sheet.header:
            cell = WriteOnlyCell(worksheet, value=name)
            cell.font = Font(bold=True)
            bold.append(cell)
        worksheet.append(bold)
        for row in sheet.rows:
            worksheet.append([_xlsx_cell(value) for value in row])
            count += sheet.counted
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        yield from _file_chunks(handle)
    return count


def _sav_column(variable: Variable, values: list[object]) -> object:
    if variable.kind in ("code", "number", "flag", "score"):
        return pandas.array([float("nan") if v is None else float(v)  # type: ignore[arg-type]
                             for v in values], dtype="float64")
    if variable.kind == "datetime":
        return pandas.to_datetime(pandas.Series(values, dtype="object"))
    return pandas.Series(["" if v is None else str(v) for v in values], dtype="object")


def sav_chunks(variables: list[Variable], records: Iterable[dict[str, object]],
               file_label: str, notes: list[str]) -> Generator[bytes, None, int]:
    """An SPSS ``.sav`` file with variable labels, value labels and "Not sure" missing."""
    columns: dict[str, list[object]] = {v.name: [] for v in variables}
    for record in records:
        for variable in variables:
            columns[variable.name].append(record[variable.name])
    frame = pandas.DataFrame({v.name: _sav_column(v, columns[v.name]) for v in variables})
    whole = [v.name for v in variables if v.kind in ("code", "flag", "number")]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.sav"
        # pyreadstat's annotation allows numeric codes only; it labels str codes as well.
        pyreadstat.write_sav(
            frame, path, file_label=file_label[:64], note=notes,
            column_labels={v.name: v.label for v in variables},
            variable_value_labels={v.name: dict(v.values) for v in variables if v.values},  # type: ignore[arg-type]  # str codes too
            missing_ranges={v.name: list(v.missing) for v in variables if v.missing},
            variable_measure={v.name: v.measure for v in variables},
            variable_format={**dict.fromkeys(whole, "F8.0"),
                             **{v.name: "F8.2" for v in variables if v.kind == "score"}},
        )
        with path.open("rb") as handle:
            yield from _file_chunks(handle)
    return len(frame)
