"""A site's plan as the exports read it: its timepoints in order, and its entry types.

The plan itself is content (``content.plan.Plan``, found by
``bot.service.catalogue.SurveyCatalogue.plan``); storage never imports the content
layer, so an export is handed the plan and reads it through the protocols here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine.model import WAVES, Survey


class TimepointLike(Protocol):
    """A timepoint of a plan: its name and the survey it asks of each respondent type."""

    @property
    def name(self) -> str: ...

    @property
    def surveys(self) -> Mapping[str, str]: ...


class EntryLike(Protocol):
    """An entry type of a plan (a journal, a story): its name and the survey it asks."""

    @property
    def name(self) -> str: ...

    @property
    def survey(self) -> str: ...


class PlanLike(Protocol):
    """A site's plan (``content.plan.Plan``)."""

    @property
    def timepoints(self) -> Sequence[TimepointLike]: ...

    @property
    def entries(self) -> Sequence[EntryLike]: ...


@dataclass(frozen=True)
class ExportPlan:
    """The timepoints (in order) and entry types an export covers, with their surveys.

    ``named`` gives, for a timepoint, the survey it names for each respondent type
    (none named: the deployment's survey for that type); ``entry_surveys`` the survey
    of each entry type. The default is the default plan: a baseline and an exit.
    """

    timepoints: tuple[str, ...] = WAVES
    entries: tuple[str, ...] = ()
    named: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    entry_surveys: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: PlanLike) -> ExportPlan:
        """The export's view of a site's ``plan``."""
        return cls(tuple(t.name for t in plan.timepoints), tuple(e.name for e in plan.entries),
                   {t.name: dict(t.surveys) for t in plan.timepoints},
                   {e.name: e.survey for e in plan.entries})

    @property
    def waves(self) -> tuple[str, ...]:
        """Timepoints then entry types: every value the wave column may hold, in order."""
        return self.timepoints + self.entries

    def describe(self) -> str:
        """The plan in words, for a refusal: "baseline, 3-month, exit; entries: journal"."""
        entries = f"; entries: {', '.join(self.entries)}" if self.entries else ""
        return ", ".join(self.timepoints) + entries

    def asks(self, survey: Survey, wave: str, default: str) -> bool:
        """True when ``survey`` is asked at timepoint or entry type ``wave``: the survey
        an entry type names, or at a timepoint the one it names for the survey's
        respondent type, else ``default`` (the deployment's survey for that type)."""
        if wave in self.entry_surveys:
            return self.entry_surveys[wave] == survey.id
        chosen = self.named.get(wave, {})
        return (survey.id in chosen.values()
                or (chosen.get(survey.respondent_type) or default) == survey.id)
