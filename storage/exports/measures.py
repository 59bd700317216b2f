"""The ``measures`` export: a site's outside measures, one row per person, measure and period.

Long, like the answers' long export, and read beside it by the participant code: the
code is all that says who a row is about. Try-out participants never appear; with
``shift_dates`` a person's periods move back by the same days as their answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import OutsideMeasure, Participant, Site
from .records import BATCH, Scope

MEASURE_COLUMNS = ("participant", "measure", "period_start", "period_end", "value")
# The value is a number written as text: never taken for a formula ("-2" is a number).
MEASURE_VALUE_AT = MEASURE_COLUMNS.index("value")


def _number(value: Decimal | float | int) -> str:
    """``value`` as plain digits: ``2``, ``0.5``, ``-3.25`` (never ``2.0000`` or ``1E+2``)."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    if exact == exact.to_integral_value():
        return format(exact.to_integral_value(), "f")
    return format(exact.normalize(), "f")


def measure_rows(session: Session, scope: Scope,
                 batch: int = BATCH) -> Iterator[Sequence[object]]:
    """The measures of the scope's site (columns ``MEASURE_COLUMNS``), streamed."""
    query = (select(Participant.code, OutsideMeasure.measure, OutsideMeasure.period_start,
                    OutsideMeasure.period_end, OutsideMeasure.value)
             .select_from(OutsideMeasure)
             .join(Participant, OutsideMeasure.participant_id == Participant.id)
             .join(Site, Participant.site_id == Site.id)
             .where(Site.code == scope.site_code, Site.is_tryout.is_(False),
                    Participant.is_tryout.is_(False))
             .order_by(Participant.code, OutsideMeasure.measure, OutsideMeasure.period_start,
                       OutsideMeasure.period_end))
    for code, measure, start, end, value in session.execute(
            query.execution_options(yield_per=batch)):
        back = timedelta(days=scope.shift(code)) if scope.shift else timedelta()
        yield (code, measure, (start - back).isoformat(), (end - back).isoformat(),
               _number(value))
