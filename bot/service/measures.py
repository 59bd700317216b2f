"""Outside measures: figures about a person from outside the survey, imported from a CSV.

A site brings in per-person figures for a period, such as hospital admissions, emergency
medication or staffing hours (any named measure), so its evaluation can read them beside
the survey answers (``nsw-feedback export --format measures``).

The file has a header row naming the columns ``participant, measure, period_start,
period_end, value`` (``period start`` and ``Period-Start`` are read the same; other
columns are ignored) and one figure a row::

    participant,measure,period_start,period_end,value
    CAM-0001,hospital admissions,2026-01-01,2026-03-31,2
    CAM-0001,emergency medication,2026-01-01,2026-03-31,0.5

Every row is checked before anything is written, and a file with any problem is refused
whole (``MeasuresRefused``, one ``Problem`` a bad row, with its line). A participant who is
not the site's is "not a participant of this site", whether or not the code exists
elsewhere: an import never tells one site about another's people. Importing the same
participant, measure and period again replaces the value. One audit line an import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from storage.models import OutsideMeasure, Participant, Site, utcnow
from storage.uow import UnitOfWork

COLUMNS = ("participant", "measure", "period_start", "period_end", "value")
MEASURE_LENGTH = 80
# Larger figures are taken for a typing slip (no count of admissions or hours is this big).
LARGEST = Decimal(10) ** 15
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEPARATORS = re.compile(r"[\s_-]+")
# Codes looked up at once (SQLite allows a few thousand parameters in a query).
_LOOKUP = 500

Key = tuple[int, str, date, date]


@dataclass(frozen=True)
class Problem:
    """What is wrong with one line of the file (line 1 is the header)."""

    line: int
    reason: str


class MeasuresRefused(ValueError):
    """The file was refused and nothing was imported; ``problems`` says why, by line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__(f"{source}: nothing imported: {len(problems)} problem(s)")
        self.source = source
        self.problems = problems

    def lines(self) -> list[str]:
        """One message a problem: ``FILE: line N: reason``."""
        return [f"{self.source}: line {p.line}: {p.reason}" for p in self.problems]


class UnknownSite(LookupError):
    """There is no site with this code."""


@dataclass(frozen=True)
class Imported:
    """What an import did: figures new to the site and figures whose value it replaced."""

    added: int
    replaced: int

    @property
    def count(self) -> int:
        return self.added + self.replaced


@dataclass
class _Row:
    line: int
    code: str
    measure: str
    start: date
    end: date
    value: Decimal
    participant_id: int = 0


@dataclass
class _Checked:
    rows: list[_Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _column(name: str) -> str:
    """A header cell as a column name: ``Period start`` -> ``period_start``."""
    return _SEPARATORS.sub("_", name.strip().lower())


def _date(raw: str, what: str) -> date:
    text = raw.strip()
    if not text:
        raise ValueError(f"the {what} is empty (write it YYYY-MM-DD)")
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the {what} {text!r} is not a date written YYYY-MM-DD") from None


def _value(raw: str) -> Decimal:
    text = raw.strip()
    if not text:
        raise ValueError("the value is empty")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"the value {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"the value {text!r} is not a number")
    if abs(value) >= LARGEST:
        raise ValueError(f"the value {text!r} is too large to be a figure for one person")
    return value


def _row(line: int, cells: dict[str, str]) -> _Row:
    """One row's figure, or ValueError saying the first thing wrong with it."""
    code = cells["participant"].strip().upper()
    if not code:
        raise ValueError("the participant is empty")
    measure = " ".join(cells["measure"].split())
    if not measure:
        raise ValueError("the measure name is empty")
    if len(measure) > MEASURE_LENGTH:
        raise ValueError(f"the measure name is longer than {MEASURE_LENGTH} characters")
    start = _date(cells["period_start"], "period start")
    end = _date(cells["period_end"], "period end")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return _Row(line, code, measure, start, end, _value(cells["value"]))


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]] | Problem]:
    """Each data row as (line, cells by column), or the header's Problem."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        yield Problem(1, "the file is empty (expected a header: " + ", ".join(COLUMNS) + ")")
        return
    names = [_column(cell) for cell in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        yield Problem(1, f"the header has no '{missing[0]}' column "
                         f"(expected: {', '.join(COLUMNS)})")
        return
    where = {c: names.index(c) for c in COLUMNS}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a spreadsheet's empty row of commas
        yield reader.line_num, {c: cells[at] if at < len(cells) else ""
                                for c, at in where.items()}


def _check(lines: Iterable[str]) -> _Checked:
    """Every row read and checked on its own (participants are looked up after)."""
    checked = _Checked()
    first: dict[tuple[str, str, date, date], int] = {}
    for record in _records(lines):
        if isinstance(record, Problem):
            checked.problems.append(record)
            continue
        line, cells = record
        try:
            row = _row(line, cells)
        except ValueError as error:
            checked.problems.append(Problem(line, str(error)))
            continue
        key = (row.code, row.measure, row.start, row.end)
        if key in first:
            checked.problems.append(Problem(line, f"line {first[key]} has the same "
                                                  "participant, measure and period"))
            continue
        first[key] = line
        checked.rows.append(row)
    return checked


def _chunks(items: list[str], size: int = _LOOKUP) -> Iterator[list[str]]:
    for at in range(0, len(items), size):
        yield items[at:at + size]


class Measures:
    """The outside-measures use cases, each one transaction."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def import_csv(self, site_code: str, lines: str | Iterable[str], source: str,
                   actor: str) -> Imported:
        """Import a site's measures from CSV text (``source`` names the file in messages).

        MeasuresRefused, with every bad row, and nothing written when any row is wrong;
        UnknownSite when there is no such site. ``actor`` goes in the audit line.
        """
        text = io.StringIO(lines) if isinstance(lines, str) else lines
        checked = _check(text)
        with self.uow_factory() as uow:
            site = uow.repo.site(site_code.upper())
            if site is None:
                raise UnknownSite(site_code)
            problems = checked.problems + self._match(uow, site, checked.rows)
            if not problems and not checked.rows:
                problems = [Problem(1, "the file has no measures")]
            if problems:
                raise MeasuresRefused(source, sorted(problems, key=lambda p: p.line))
            imported = self._store(uow, site, checked.rows, actor)
            uow.repo.audit(actor, "measures_import", site.code, count=imported.count,
                           added=imported.added, replaced=imported.replaced)
            uow.commit()
        return imported

    @staticmethod
    def _match(uow: UnitOfWork, site: Site, rows: list[_Row]) -> list[Problem]:
        """Give each row its participant id; a Problem for each that is not the site's."""
        ids: dict[str, int] = {}
        for codes in _chunks(sorted({row.code for row in rows})):
            ids.update((code, pid) for code, pid in uow.session.execute(
                select(Participant.code, Participant.id).where(
                    Participant.code.in_(codes), Participant.site_id == site.id)))
        problems = []
        for row in rows:
            if row.code in ids:
                row.participant_id = ids[row.code]
            else:
                problems.append(Problem(row.line, f"{row.code} is not a participant of "
                                                  "this site"))
        return problems

    @staticmethod
    def _store(uow: UnitOfWork, site: Site, rows: list[_Row], actor: str) -> Imported:
        """Add each figure, or replace the value of the one stored for its period."""
        people = sorted({row.participant_id for row in rows})
        stored: dict[Key, OutsideMeasure] = {}
        for at in range(0, len(people), _LOOKUP):
            for measure in uow.session.scalars(select(OutsideMeasure).where(
                    OutsideMeasure.participant_id.in_(people[at:at + _LOOKUP]))):
                stored[(measure.participant_id, measure.measure, measure.period_start,
                        measure.period_end)] = measure
        now, added = utcnow(), 0
        for row in rows:
            found = stored.get((row.participant_id, row.measure, row.start, row.end))
            if found is None:
                added += 1
                uow.session.add(OutsideMeasure(
                    site_id=site.id, participant_id=row.participant_id, measure=row.measure,
                    period_start=row.start, period_end=row.end, value=row.value,
                    imported_at=now, imported_by=actor))
            else:
                found.value, found.imported_at, found.imported_by = row.value, now, actor
        uow.session.flush()
        return Imported(added=added, replaced=len(rows) - added)
