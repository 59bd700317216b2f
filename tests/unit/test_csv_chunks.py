"""The CSV writer works a column at a time; its file is the one a cell-by-cell writer makes."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime

from storage.exports.formats import CSV_BATCH, _csv_cell, csv_chunks

HEADER = ("code", "number", "text", "when", "flag")


def cell_by_cell(header, rows) -> bytes:
    """The definition: every cell through ``_csv_cell``, one row at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def written(header, rows) -> tuple[bytes, int]:
    chunks = csv_chunks(header, rows)
    data = b""
    while True:
        try:
            data += next(chunks)
        except StopIteration as done:
            return data, done.value


def test_every_kind_of_cell_comes_out_as_cell_by_cell_would_write_it():
    when = datetime(2025, 6, 1, 23, 30, 5)
    awkward = ["plain", "", None, "=HYPERLINK(\"x\")", "+44 7700", "-5 days", "@home",
               "\ttabbed", "\rreturn", "a, b and \"c\"", "two\nlines", "nul\x00=inside",
               "😀 emoji", "مرحبا بالعالم", "'already quoted"]
    rows = []
    for n in range(CSV_BATCH * 2 + 7):
        rows.append((f"CAL-{n:04d}", None if n % 3 else n - 50, awkward[n % len(awkward)],
                     None if n % 5 == 0 else when.replace(tzinfo=UTC if n % 2 else None),
                     n % 2 == 0))
    data, count = written(HEADER, rows)
    assert count == len(rows)
    assert data == cell_by_cell(HEADER, rows)
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'-5 days" in text and ",2025-06-01 23:30:05," in text


def test_a_batch_without_formulas_is_written_unchanged():
    rows = [("CAL-0001", 3, "More trips out", None, True)] * 10
    data, count = written(HEADER, rows)
    assert count == 10
    assert data.decode("utf-8-sig").splitlines()[1] == "CAL-0001,3,More trips out,,True"


def test_no_rows_is_a_header_alone():
    assert written(HEADER, []) == (codecs.BOM_UTF8 + b"code,number,text,when,flag\r\n", 0)


AWKWARD = ["plain", "", "=HYPERLINK(\"x\")", "+44 7700", "-5 days", "@home", "\ttabbed",
           "\rreturn", "a, b and \"c\"", "two\nlines", "x\r\ny", "nul\x00=inside", "a,=b",
           "😀 emoji", "مرحبا بالعالم", "'already quoted", "-", ",", "\"", "end,"]


def test_rows_of_text_alone_come_out_as_cell_by_cell_would_write_them():
    rows = [(f"CAL-{n:04d}", AWKWARD[n % len(AWKWARD)], AWKWARD[n * 7 % len(AWKWARD)],
             "2025-06-01 23:30:05", AWKWARD[n * 3 % len(AWKWARD)])
            for n in range(CSV_BATCH * 2 + 7)]
    rows[0] = ("=first", *rows[0][1:])
    data, count = written(HEADER, rows)
    assert count == len(rows)
    assert data == cell_by_cell(HEADER, rows)


def test_a_batch_of_plain_text_is_written_unchanged():
    rows = [("CAL-0001", "3", "More trips out", "", "True")] * 10
    data, _ = written(HEADER, rows)
    assert data.decode("utf-8-sig").splitlines()[1] == "CAL-0001,3,More trips out,,True"


def test_numbers_written_as_text_are_never_taken_for_formulas():
    rows = [("CAL-0001", "-3", "-3", "", "")] * 3

    chunks = csv_chunks(HEADER, rows, numeric=(1,))
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.splitlines()[1:] == ["CAL-0001,-3,'-3,,"] * 3
    mixed = [("CAL-0001", "-3", "-3", None, None)]
    assert b"".join(csv_chunks(HEADER, mixed, numeric=(1,))).decode(
        "utf-8-sig").splitlines()[1] == "CAL-0001,-3,'-3,,"


def test_a_one_column_file_keeps_its_empty_rows():
    rows = [("",), ("x",), ("",), ("a,b",)]
    assert written(("only",), rows)[0] == cell_by_cell(("only",), rows)
