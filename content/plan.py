"""A site's evaluation plan: its timepoints, recurring pulses and open-ended entry types.

A plan is a YAML file a site publishes (``nsw-feedback plan publish FILE --site CODE``).
Every site without one follows ``DEFAULT_PLAN``: a baseline and an exit, each asking the
shipped survey for the person's respondent type. The format, with every field::

    timepoints:
      - name: baseline                 # lower-case letters, digits and dashes
        surveys:                       # respondent type -> survey id (default: the
          individual: cal_individual   #   deployment's survey for that type)
      - name: 3-month
        opens_after_days: 90           # days after enrolment it opens (default: when
        window_days: 30                #   staff invite); how long it stays open
      - name: weekly
        every_days: 7                  # a recurring pulse, e.g. every 7 days
        surveys: {professional: pulse}
        for: [professional]            # who it is for (default: everyone; see below)
      - name: exit
    entries:                           # open-ended: added at any time, as often as liked
      - name: journal
        survey: journal                # a survey with the entry's question(s)
        keywords: {en: [DIARY, JOURNAL]}  # sent alone, they start one (/journal too)
        label: {en: diary entry}       # "To add a diary entry, send DIARY"

``for`` names the respondent types a timepoint is for: inviting to it (the staff page,
``invite``, the round) invites only them, and lists everyone else as left out and why.
Without it a timepoint is for everyone, except one the round opens by itself
(``every_days``, ``opens_after_days``) with ``surveys`` named: that one is for the types
its surveys name. The rule is ``bot.service.reach.audience``.

Loading validates everything and fails with a ``ContentError`` naming the file, the line
and what is wrong, like the survey loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine import DEFAULT_LANGUAGE, RESPONDENT_TYPES, WAVES
from bot.engine.parsing import CARRIER_KEYWORDS, COMMANDS, normalise

from .loader import _LINE, ContentError, _check_keys, _Context, _mapping, read_yaml

PLAN_KEYS = {"timepoints", "entries"}
TIMEPOINT_KEYS = {"name", "surveys", "opens_after_days", "window_days", "every_days", "for"}
ENTRY_KEYS = {"name", "survey", "keywords", "label"}
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
YES_NO_WORDS = {"yes", "no", "y", "n", "ok", "tak", "nie", "ہاں", "نہیں"}


@dataclass(frozen=True)
class Timepoint:
    """One point (or a recurring pulse) at which people are asked their survey."""

    name: str
    surveys: Mapping[str, str] = field(default_factory=dict)
    opens_after_days: int | None = None
    window_days: int | None = None
    every_days: int | None = None
    # The respondent types it is for (``for:`` in the file); empty: not said.
    for_types: tuple[str, ...] = ()

    def survey_for(self, respondent_type: str) -> str:
        """The survey id this timepoint asks of ``respondent_type``; "" for the default."""
        return self.surveys.get(respondent_type, "")


@dataclass(frozen=True)
class EntryType:
    """An open-ended entry a person may add whenever they like: a journal, a story."""

    name: str
    survey: str
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A site's timepoints, in order, and its entry types."""

    timepoints: tuple[Timepoint, ...]
    entries: tuple[EntryType, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The timepoints' names, in order."""
        return tuple(t.name for t in self.timepoints)

    def timepoint(self, name: str) -> Timepoint:
        """The timepoint called ``name``; KeyError names the plan's timepoints."""
        for timepoint in self.timepoints:
            if timepoint.name == name:
                return timepoint
        raise KeyError(f"no timepoint {name!r} in this site's plan "
                       f"(it has: {', '.join(self.names)})")

    def survey_ids(self) -> set[str]:
        """Every survey id the plan names."""
        return ({s for t in self.timepoints for s in t.surveys.values()}
                | {e.survey for e in self.entries})


DEFAULT_PLAN = Plan(tuple(Timepoint(name) for name in WAVES))


def _days(data: dict[str, Any], key: str, ctx: _Context) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ctx.fail(f"{key} must be a whole number of days, 1 or more, not {value!r}")
    return value


def _name(value: Any, what: str, ctx: _Context) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ctx.fail(f"{what} {value!r} must be lower-case letters, digits and dashes "
                       "(up to 16), like 3-month")
    return value


def _for_types(value: Any, name: str, ctx: _Context) -> tuple[str, ...]:
    """A timepoint's ``for``: respondent types, as a list (or one, written alone)."""
    if value is None:
        return ()
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not listed:
        raise ctx.fail(f"timepoint {name}: for must list respondent types, like "
                       "[professional]")
    for kind in listed:
        if kind not in RESPONDENT_TYPES:
            raise ctx.fail(f"timepoint {name}: for has {kind!r}, which is not a respondent "
                           f"type ({', '.join(RESPONDENT_TYPES)})")
    twice = sorted({kind for kind in listed if listed.count(kind) > 1})
    if twice:
        raise ctx.fail(f"timepoint {name}: for names {twice[0]} twice")
    return tuple(kind for kind in RESPONDENT_TYPES if kind in listed)


def _timepoint(raw: Any, ctx: _Context) -> Timepoint:
    data = _mapping(raw, "each timepoint", ctx)
    _check_keys(data, TIMEPOINT_KEYS, "timepoint", ctx)
    name = _name(data.get("name"), "the timepoint name", ctx)
    surveys = _mapping(data.get("surveys", {}) or {}, f"timepoint {name}'s surveys", ctx)
    chosen = {}
    for respondent_type, survey_id in surveys.items():
        if respondent_type == _LINE:
            continue
        if respondent_type not in RESPONDENT_TYPES:
            raise ctx.fail(f"timepoint {name}: '{respondent_type}' is not a respondent type "
                           f"({', '.join(RESPONDENT_TYPES)})")
        if not isinstance(survey_id, str) or not survey_id:
            raise ctx.fail(f"timepoint {name}: the survey for {respondent_type} must be an id")
        chosen[respondent_type] = survey_id
    for_types = _for_types(data.get("for"), name, ctx)
    outside = [kind for kind in chosen if for_types and kind not in for_types]
    if outside:
        raise ctx.fail(f"timepoint {name}: its surveys name {outside[0]}, but it is for "
                       f"{', '.join(for_types)} only; add {outside[0]} to for, or remove "
                       "its survey")
    timepoint = Timepoint(name, chosen, _days(data, "opens_after_days", ctx),
                          _days(data, "window_days", ctx), _days(data, "every_days", ctx),
                          for_types)
    if timepoint.every_days and timepoint.opens_after_days:
        raise ctx.fail(f"timepoint {name}: a recurring timepoint (every_days) opens every "
                       "time it falls due; remove opens_after_days")
    return timepoint


def _entry(raw: Any, ctx: _Context) -> EntryType:
    data = _mapping(raw, "each entry type", ctx)
    _check_keys(data, ENTRY_KEYS, "entry", ctx)
    name = _name(data.get("name"), "the entry name", ctx)
    survey = data.get("survey")
    if not isinstance(survey, str) or not survey:
        raise ctx.fail(f"entry {name}: name the survey it asks (survey: ...)")
    words = _mapping(data.get("keywords", {}) or {}, f"entry {name}'s keywords", ctx)
    keywords = {}
    for language, listed in words.items():
        if language == _LINE:
            continue
        if not isinstance(listed, list) or not all(isinstance(w, str) and w for w in listed):
            raise ctx.fail(f"entry {name}: keywords in '{language}' must be a list of words")
        keywords[language] = tuple(w.upper() for w in listed)
    if keywords and DEFAULT_LANGUAGE not in keywords:
        raise ctx.fail(f"entry {name}: give its keywords in English ('{DEFAULT_LANGUAGE}') too")
    labels = _mapping(data.get("label", {}) or {}, f"entry {name}'s label", ctx)
    for language, label in labels.items():
        if language != _LINE and (not isinstance(label, str) or not label.strip()):
            raise ctx.fail(f"entry {name}: its label in '{language}' must be words")
    return EntryType(name, survey, keywords,
                     {k: v.strip() for k, v in labels.items() if k != _LINE})


def _steers(word: str) -> bool:
    """True for a word that already steers every conversation (STOP, HELP, SKIP...) or
    answers a yes/no question, which an entry's keyword must not take over."""
    folded = normalise(word)
    return (word.upper() in CARRIER_KEYWORDS or folded in YES_NO_WORDS
            or any(folded in words for words in COMMANDS.values()))


def load_plan(path: str | Path, text: str | None = None) -> Plan:
    """Read and check a plan file (or its ``text``, uploaded under the name ``path``)."""
    path = Path(path)
    ctx = _Context(path)
    data = _mapping(read_yaml(path, text), "the plan", ctx)
    _check_keys(data, PLAN_KEYS, "plan", ctx)
    raw = data.get("timepoints")
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("timepoints must be a non-empty list")
    timepoints = tuple(_timepoint(item, ctx) for item in raw)
    entries = tuple(_entry(item, ctx) for item in data.get("entries", []) or [])
    for what, names in (("timepoint", [t.name for t in timepoints]),
                        ("entry", [e.name for e in entries])):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ContentError(path, f"two {what}s are called '{repeated[0]}'")
    taken: dict[str, str] = {}
    for entry in entries:
        for words in entry.keywords.values():
            for word in words:
                if _steers(word):
                    raise ContentError(path, f"entry {entry.name}: {word} already means "
                                             "something in every survey; choose another word")
                if word in taken:
                    raise ContentError(path, f"the keyword {word} is used by entries "
                                             f"{taken[word]} and {entry.name}")
                taken[word] = entry.name
    return Plan(timepoints, entries)


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain data (what ``plan show`` prints and a database row keeps)."""
    return {
        "timepoints": [{key: value for key, value in (
            ("name", t.name), ("surveys", dict(t.surveys)),
            ("opens_after_days", t.opens_after_days), ("window_days", t.window_days),
            ("every_days", t.every_days), ("for", list(t.for_types))) if value}
            for t in plan.timepoints],
        "entries": [{"name": e.name, "survey": e.survey,
                     "keywords": {k: list(v) for k, v in e.keywords.items()},
                     "label": dict(e.labels)}
                    for e in plan.entries],
    }


def plan_from_data(data: Mapping[str, Any]) -> Plan:
    """The plan ``plan_data`` wrote (already checked when it was published)."""
    return Plan(
        tuple(Timepoint(t["name"], dict(t.get("surveys", {})), t.get("opens_after_days"),
                        t.get("window_days"), t.get("every_days"), tuple(t.get("for", ())))
              for t in data.get("timepoints", ())),
        tuple(EntryType(e["name"], e["survey"],
                        {k: tuple(v) for k, v in e.get("keywords", {}).items()},
                        dict(e.get("label", {})))
              for e in data.get("entries", ())))
