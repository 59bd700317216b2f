"""The conversation engine: (survey, progress, event) -> (new progress, prompts).

Pure functions over plain data. Every channel sends the same events and renders the
same prompts, so consent, the practice question, skip logic, re-asking and the ending
behave the same on a phone call, in a text, in Telegram and on the web.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from itertools import product
from typing import Any

from .compose import asked_text, sms_segments
from .model import (
    ANCHORED_POINTS,
    DEFAULT_LANGUAGE,
    NOT_SURE_CODE,
    ORDERED_SCALES,
    WAVES,
    Option,
    Question,
    Survey,
    localise,
)
from .parsing import carrier_keyword, command_in, printable, read_reply
from .safeguarding import Safeguarding
from .vocabulary import (
    FINISHED_STATUSES,
    AnswerMode,
    AnswerStatus,
    Capabilities,
    EventKind,
    Status,
)

CONSENT = "consent"
# The id a channel tags the "start again?" confirmation with (never a survey question id:
# the loader keeps ids to lower-case letters, and reserves this one as it does consent).
RESTART = "restart"
MAX_REASKS = 2
# Why a recording is in the review queue: nobody has listened to it yet.
UNHEARD = "recording: listen to it"
# The id of the keypad menu of entries a caller is offered when nothing is waiting.
ENTRY_MENU = "entries"
# A channel of typed replies with no extras: the default when none is named.
TYPED = Capabilities()
# Events that carry a reply to the question asked.
_REPLIES = (EventKind.TEXT, EventKind.KEY, EventKind.BUTTON)
_KEYPAD_COMMANDS = {"*": EventKind.AGAIN, "#": EventKind.SKIP}


@dataclass(frozen=True)
class Event:
    """One thing a person did: typed, pressed a key or a button, said nothing..."""

    kind: EventKind
    value: str = ""
    question: str = ""  # the question the person saw, when the channel knows it

    def __post_init__(self) -> None:
        # A plain string is accepted and checked: EventKind("nonsense") raises ValueError.
        object.__setattr__(self, "kind", EventKind(self.kind))


@dataclass(frozen=True)
class Choice:
    """An answer shown or read out with a question."""

    code: int
    label: str
    key: str
    emoji: str = ""
    picture: str = ""
    not_sure: bool = False


@dataclass(frozen=True)
class Prompt:
    """Something to tell or ask the person.

    ``kind`` is "say" (a statement), "ask" (a question waiting for an answer) or
    "review" (every answer so far, for channels with a check-your-answers step).
    ``instruction`` tells this channel's person how to answer ("Press 1: Yes.").
    ``error`` is set when the question is asked again because the reply did not fit.
    ``phrase`` names the shared phrase a statement was made from ("closing").
    """

    kind: str
    text: str
    language: str
    question_id: str = ""
    question_type: str = ""
    choices: tuple[Choice, ...] = ()
    instruction: str = ""
    number: int = 0
    total: int = 0
    help: str = ""
    practice: bool = False
    record: bool = False
    error: str = ""
    review: tuple[tuple[str, str, str], ...] = ()
    back: bool = False  # there is an earlier question a "back" event would return to
    given: str = ""  # the answer already given to this question (a code or typed words)
    phrase: str = ""
    picture: str = ""  # the question's own picture (a file name), for channels that show one

    def to_dict(self) -> dict[str, object]:
        """Plain data, for storing a reply so a provider's retry gets the same one.

        Fields left at their defaults are left out (``from_dict`` puts them back): every
        inbound message stores its reply, so the stored JSON is kept small.
        """
        data = _changed(self)
        if self.choices:
            data["choices"] = [_changed(choice) for choice in self.choices]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prompt:
        """A prompt as ``to_dict`` stored it (JSON: lists where tuples were)."""
        values = dict(data)
        values["choices"] = tuple(Choice(**c) for c in values.get("choices", ()))
        values["review"] = tuple(tuple(r) for r in values.get("review", ()))
        return cls(**values)


def _changed(item: Prompt | Choice) -> dict[str, object]:
    """The fields of ``item`` that differ from their defaults."""
    defaults = _DEFAULTS[type(item)]
    return {name: value for name, value in vars(item).items()
            if name not in defaults or value != defaults[name]}


_DEFAULTS: dict[type, dict[str, object]] = {
    cls: {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for cls in (Prompt, Choice)}


@dataclass(frozen=True)
class Recorded:
    """An answer to store now. ``status`` is "answered", "skipped" or "no_answer"."""

    question_id: str
    status: AnswerStatus
    code: int | None = None
    label: str = ""
    text: str = ""
    recording: str = ""
    raw: str = ""
    concerns: tuple[str, ...] = ()  # worrying words found in a free-text answer


@dataclass
class Progress:
    """Where one person is in one wave's survey. Stored as JSON between events.

    ``channel`` names the channel the last event came by, as data for the record; what
    the engine does depends only on ``capabilities``, which the service sets on every
    turn from the channel table and which is not stored.
    """

    survey_id: str
    wave: str
    language: str
    channel: str
    status: Status = Status.CONSENT
    current: str = CONSENT
    answers: dict[str, dict[str, object]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    misunderstood: int = 0
    silences: int = 0
    who_answered: str = ""
    returning_to_review: bool = False
    # True between "start again?" and the person's reply to it.
    restarting: bool = False
    # The code of the person these answers are about, when a family member or
    # professional answers about someone ("" when they answer about themselves).
    about: str = ""
    capabilities: Capabilities = field(default=TYPED, compare=False)

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON. The containers are copied so that later steps cannot
        change what was stored; the engine replaces answer entries, never edits them."""
        data = dict(vars(self))
        del data["capabilities"]
        data["answers"] = dict(self.answers)
        data["asked"] = list(self.asked)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  capabilities: Capabilities = TYPED) -> Progress:
        """Progress as stored; keys of older versions (``review``) are dropped."""
        known = {k: v for k, v in data.items() if k in _PROGRESS_FIELDS}
        known["status"] = Status(known.get("status", Status.CONSENT))
        return cls(**known, capabilities=capabilities)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def review(self) -> bool:
        """True when this channel has a check-your-answers step."""
        return self.capabilities.review


_PROGRESS_FIELDS = frozenset(f.name for f in fields(Progress)) - {"capabilities"}


@dataclass(frozen=True)
class EntryOffer:
    """An open-ended entry (a journal, a story) a person may start at any time.

    ``words`` start it when sent alone, by language (upper case); ``labels`` name it in
    each language ("diary entry"), for telling people how to start one.
    """

    name: str
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, language: str) -> str:
        """What the entry is called in ``language``."""
        return self.labels.get(language) or self.labels.get(DEFAULT_LANGUAGE) or self.name

    def word(self, language: str) -> str:
        """The word to send to start one, in ``language`` where one is given."""
        listed = self.words.get(language) or self.words.get(DEFAULT_LANGUAGE) or ()
        return listed[0] if listed else self.name.upper()

    def started_by(self, sent: str) -> bool:
        """True when ``sent`` alone ("diary", "/journal") asks for this entry."""
        word = sent.strip().lstrip("/").upper()
        return word == self.name.upper() or any(word in w for w in self.words.values())


@dataclass(frozen=True)
class Standing:
    """What the engine must know about the person beyond their progress.

    ``entries`` are the open-ended entries their site offers; ``in_entry`` names the
    one this progress belongs to ("" for a timepoint's survey).
    """

    opted_out: bool = False
    idle_hours: float = 0.0  # since the person's last turn was stored
    entries: tuple[EntryOffer, ...] = ()
    in_entry: str = ""


# Someone who has not opted out and is answering now: the default standing.
ANSWERING = Standing()

@dataclass(frozen=True)
class Step:
    """The engine's answer to one event."""

    progress: Progress
    prompts: tuple[Prompt, ...]
    recorded: tuple[Recorded, ...] = ()
    withdrawn: tuple[str, ...] = ()
    consent_given: bool | None = None
    # True: the person asked us to stop contacting them; False: they asked us to start
    # again; None: no change. The service stores it and audits it in the same turn.
    opted_out: bool | None = None
    # A message the person sent outside the survey (after finishing, or after opting
    # out), kept for their site's staff, with any worrying words found in it.
    kept: str = ""
    kept_concerns: tuple[str, ...] = ()
    # The person asked to add an open-ended entry (its name): nothing is written to
    # this progress; the service opens the entry and starts it instead.
    start_entry: str = ""


# ---------------------------------------------------------------- building prompts


def consent_question(survey: Survey) -> Question:
    """Consent asked as a yes/no question, with the standard yes/no answers."""
    return Question(id=CONSENT, type="yes_no", text=survey.consent, options=survey.yes_no)


def restart_question(survey: Survey) -> Question:
    """"Start again?" asked as a yes/no question with the survey's standard yes/no
    answers (a survey need not have a yes/no question of its own). No "Not sure": only
    a clear yes wipes the answers, and anything else carries on."""
    return Question(id=RESTART, type="yes_no", text=survey.phrases["restart_confirm"],
                    options=tuple(o for o in survey.yes_no if not o.not_sure))


def _question(survey: Survey, question_id: str) -> Question:
    if question_id == CONSENT:
        return consent_question(survey)
    if question_id == RESTART:
        return restart_question(survey)
    return survey.question(question_id)


def _instruction(survey: Survey, question: Question, progress: Progress) -> str:
    lang, capabilities = progress.language, progress.capabilities
    typed = question.type in ("open", "number")
    if capabilities.shows_choices:
        # Choices are there to press. A typed answer under a message (no text box of
        # its own, unlike a web page) still needs saying how: "Type your answer...".
        if typed and capabilities.answers_by == AnswerMode.BUTTONS:
            return survey.phrase(_variant(progress, question.type), lang)
        return ""
    if typed:
        return survey.phrase(_variant(progress, question.type), lang)
    if capabilities.answers_by == AnswerMode.KEYS:
        parts = [survey.phrase("option_keys", lang, key=o.key, label=localise(o.label, lang))
                 for o in question.options if not o.not_sure]
        parts += [survey.phrase("not_sure_keys", lang)] if any(
            o.not_sure for o in question.options) else []
        parts.append(survey.phrase("again_keys", lang))
        # Every survey question can be skipped (consent and "start again?" cannot), so
        # the caller hears how with the question's own keys, not after wrong ones.
        if question.id not in (CONSENT, RESTART):
            parts.append(survey.phrase("skip_keys", lang))
        return " ".join(parts)
    return _typed_choices(survey, question, progress)


def _listed(options: Iterable[Option], language: str) -> str:
    """One answer a line: a list reads more easily than one long sentence."""
    return "".join(f"\n{o.key} {localise(o.label, language)}" for o in options)


def _typed_choices(survey: Survey, question: Question, progress: Progress) -> str:
    """How to answer by typing: every answer listed, or, for a long ordered scale whose
    whole list would make the text longer than the channel's segments, the scale's two
    ends and "Not sure" ("Reply 1 to 5:"). Any number in between is still understood:
    replies are read against every answer, not against what was listed."""
    lang, limit = progress.language, progress.capabilities.max_segments
    whole = survey.phrase("choices_text", lang, choices=_listed(question.options, lang))
    points = [o for o in question.options if not o.not_sure]
    if (not limit or question.type not in ORDERED_SCALES or len(points) < ANCHORED_POINTS
            or [o.key for o in points] != [str(n) for n in range(1, len(points) + 1)]):
        return whole
    if sms_segments(asked_text(localise(question.text, lang), whole))[0] <= limit:
        return whole
    ends = (points[0], points[-1], *(o for o in question.options if o.not_sure))
    return survey.phrase("scale_ends_text", lang, low=points[0].key, high=points[-1].key,
                         choices=_listed(ends, lang))


def _variant(progress: Progress, phrase_id: str) -> str:
    """The phrase id for how this channel answers: ``_keys``, ``_text`` or ``_buttons``
    (buttons and pages)."""
    return f"{phrase_id}_{progress.capabilities.phrase_group}"


def _position(survey: Survey, progress: Progress, question: Question) -> tuple[int, int]:
    """Question number and total, counting a conditional question as asked until the
    answer it depends on rules it out, so the total never grows as someone answers."""
    shown = [q for q in survey.questions if q.is_data and q.asked_at(progress.wave)
             and (q.show_if is None or q.show_if.question not in progress.answers
                  or _applies(q, progress))]
    if question not in shown:
        return 0, len(shown)
    return shown.index(question) + 1, len(shown)


def ask(survey: Survey, progress: Progress, question_id: str | None = None,
        error: str = "") -> Prompt:
    """The prompt that asks the current (or given) question in this channel's terms."""
    question = _question(survey, question_id or progress.current)
    lang = progress.language
    number, total = ((0, 0) if question.id in (CONSENT, RESTART)
                     else _position(survey, progress, question))
    return Prompt(
        kind="ask",
        text=localise(question.text, lang),
        language=lang,
        question_id=question.id,
        question_type=question.type,
        choices=tuple(
            Choice(o.code, localise(o.label, lang), o.key, o.emoji, o.picture, o.not_sure)
            for o in question.options
        ),
        instruction=_instruction(survey, question, progress),
        number=number,
        total=total,
        help=localise(question.help, lang) if question.help else "",
        practice=question.practice,
        record=question.record,
        error=error,
        back=bool(_back_path(survey, progress)),
        given=str(progress.answers.get(question.id, {}).get("given", "")),
        picture=question.picture,
    )


def say(survey: Survey, progress: Progress, phrase_id: str, **values: object) -> Prompt:
    """A statement from the shared phrases, in the person's language."""
    # Stripped: a placeholder filled with nothing (no site contact) leaves no stray space.
    return Prompt(kind="say", text=survey.phrase(phrase_id, progress.language, **values).strip(),
                  language=progress.language, phrase=phrase_id)


def _review(survey: Survey, progress: Progress) -> Prompt:
    lang = progress.language
    rows = []
    for question in _route(survey, progress):
        if not question.is_data:
            continue
        answer = progress.answers.get(question.id, {})
        shown = str(answer.get("shown") or survey.phrase("not_answered", lang))
        rows.append((question.id, localise(question.text, lang), shown))
    return Prompt(kind="review", text=survey.phrase("review", lang), language=lang,
                  review=tuple(rows), phrase="review")


# ---------------------------------------------------------------- the route


def _applies(question: Question, progress: Progress) -> bool:
    if not question.asked_at(progress.wave):
        return False
    if question.show_if is None:
        return True
    code = progress.answers.get(question.show_if.question, {}).get("code")
    return isinstance(code, int) and code in question.show_if.codes


def _route(survey: Survey, progress: Progress) -> list[Question]:
    """The questions this person is asked, given their wave and answers so far."""
    return [q for q in survey.questions if _applies(q, progress)]


def _next_question(survey: Survey, progress: Progress, after: str) -> Question | None:
    route = _route(survey, progress)
    if progress.returning_to_review:
        return next((q for q in route if q.is_data and q.id not in progress.answers), None)
    ids = [q.id for q in survey.questions]
    position = -1 if after == CONSENT else ids.index(after)
    return next((q for q in route if ids.index(q.id) > position), None)


# ---------------------------------------------------------------- the engine


def begin(survey: Survey, wave: str, language: str, channel: str,
          capabilities: Capabilities = TYPED, about: str = "") -> Progress:
    """Fresh progress for a person starting ``survey`` in ``wave`` on a channel that can
    do ``capabilities`` (``channel`` is its name, kept as data); ``about`` is the code
    of the person the answers are about, if not the person answering."""
    return Progress(survey_id=survey.id, wave=wave, language=language, channel=channel,
                    capabilities=capabilities, who_answered=survey.answered_by, about=about)


def advance(survey: Survey, progress: Progress, event: Event,
            safeguarding: Safeguarding | None = None,
            standing: Standing = ANSWERING) -> Step:
    """Move the conversation on by one event. Never mutates ``progress``.

    With ``safeguarding``, a free-text answer holding a worrying word is recorded with
    its ``concerns`` and the person is told who to call if they are in danger.
    ``standing`` says whether the person has opted out, and how long since their last
    turn. A step that opts them out or in says so in ``Step.opted_out``.
    """
    progress = replace(progress, answers=dict(progress.answers), asked=list(progress.asked))
    # What arrives is kept as typed (``raw``), but never with invisible control bytes.
    event = replace(event, value=printable(event.value))
    capabilities = progress.capabilities
    if event.kind == EventKind.TEXT and capabilities.carrier_keywords:
        keyword = carrier_keyword(event.value)
        event = Event(EventKind(keyword)) if keyword else event
    if event.kind == EventKind.OPT_OUT:
        return _opt_out(survey, progress, standing)
    if event.kind == EventKind.OPT_IN:
        return _opt_in(survey, progress, standing)
    entry = None if standing.opted_out else _entry_asked(progress, event, standing)
    if entry is not None and entry.name != standing.in_entry:
        return Step(progress, (), start_entry=entry.name)
    if entry is not None or event.kind == EventKind.ENTRY:
        # Already adding that one (or it is not offered): say where they are.
        event = Event(EventKind.START)
    guard = safeguarding or Safeguarding()
    if (progress.finished or standing.opted_out) and _is_message(event, capabilities, guard):
        return _keep(survey, progress, event.value, guard, standing)
    if standing.opted_out:
        # Anything else from someone who opted out is answered, never asked onwards.
        if not progress.finished:
            progress.status = Status.OPTED_OUT
        return Step(progress, (say(survey, progress, "already_opted_out"),))
    if (capabilities.resume_after_hours and event.kind in (EventKind.TEXT, EventKind.KEY)
            and standing.idle_hours >= capabilities.resume_after_hours):
        # Someone writing again long after their last reply has most likely lost track:
        # they are told which question they are on rather than answering it by accident.
        event = Event(EventKind.START)
    if event.kind == EventKind.RESTART:
        return _ask_restart(survey, progress)
    if progress.restarting:
        return _confirm_restart(survey, progress, event)
    # Whatever someone first sends ("hi", a key press), they are greeted and asked
    # for consent: nothing they say before that can count as an answer.
    if event.kind == EventKind.START or not progress.asked:
        return _start(survey, progress, standing)
    if progress.finished:
        # A key or silence at the entry menu that chose nothing ends the call.
        return _finished(survey, progress, standing, offer=event.kind == EventKind.TEXT)
    if progress.status == Status.STOPPED:
        return _start(survey, progress, standing)
    if progress.status == Status.REVIEW:
        return _in_review(survey, progress, event)
    return _answering(survey, progress, event, safeguarding or Safeguarding())


def _entry_asked(progress: Progress, event: Event, standing: Standing) -> EntryOffer | None:
    """The entry the person asks to add: one of its words sent alone ("DIARY",
    "/journal"), or, on a keypad when no question is waiting, its number in the list
    they were read."""
    if not standing.entries:
        return None
    if event.kind == EventKind.ENTRY:
        return next((e for e in standing.entries if e.name == event.value), None)
    if event.kind == EventKind.TEXT:
        return next((e for e in standing.entries if e.started_by(event.value)), None)
    offered = _offered(standing)
    if (event.kind == EventKind.KEY and progress.finished and event.value.isdigit()
            and 1 <= int(event.value) <= len(offered)):
        return offered[int(event.value) - 1]
    return None


def _offered(standing: Standing) -> list[EntryOffer]:
    """The entries offered, numbered from 1 in this order: all but the one open now."""
    return [e for e in standing.entries if e.name != standing.in_entry]


def _finished(survey: Survey, progress: Progress, standing: Standing,
              offer: bool = True) -> Step:
    """Nothing is waiting: say so, and (with ``offer``) how to add any entry the site
    offers. On a keypad the offer is a question, so the call waits for the key."""
    done = say(survey, progress, f"already_{progress.status}")
    entries = _offered(standing) if offer else []
    if not entries:
        return Step(progress, (done,))
    offers = [say(survey, progress, _variant(progress, "entry_offer"),
                  label=entry.label(progress.language), key=number,
                  # Where answers are buttons, typed words are answers: a command starts it.
                  word=(f"/{entry.name}" if progress.capabilities.shows_choices
                        else entry.word(progress.language)))
              for number, entry in enumerate(entries, start=1)]
    if progress.capabilities.answers_by != AnswerMode.KEYS:
        return Step(progress, (done, *offers))
    menu = Prompt("ask", " ".join(o.text for o in offers), progress.language,
                  question_id=ENTRY_MENU, question_type="choice",
                  choices=tuple(Choice(number, entry.label(progress.language), str(number))
                                for number, entry in enumerate(entries, start=1)))
    return Step(progress, (done, menu))


def _is_message(event: Event, capabilities: Capabilities, safeguarding: Safeguarding) -> bool:
    """True for words typed to us that are not a command: a message to read. A key, an
    emoji or one word on its own ("yes") is a reply to an old question, not a message,
    unless the word is a worrying one."""
    if event.kind != EventKind.TEXT or not any(c.isalpha() for c in event.value):
        return False
    if capabilities.typed_commands and command_in(event.value):
        return False
    return len(event.value.split()) > 1 or bool(safeguarding.concerns(event.value))


def _keep(survey: Survey, progress: Progress, text: str, safeguarding: Safeguarding,
          standing: Standing) -> Step:
    """A message sent when no question is waiting: nothing anyone says is lost. It is
    kept for the site's staff, read for worrying words, and the person told who reads
    it (and who to call, if the words are worrying)."""
    if standing.opted_out and not progress.finished:
        progress.status = Status.OPTED_OUT
    concerns = safeguarding.concerns(text)
    note = _safeguarding_note(survey, progress, safeguarding, concerns)
    prompts = (say(survey, progress, "message_kept"), *((note,) if note else ()))
    return Step(progress, prompts, kept=" ".join(text.split()), kept_concerns=concerns)


def _opt_out(survey: Survey, progress: Progress, standing: Standing) -> Step:
    """"Never contact me again." A finished response keeps its status: its answers are
    the evaluation's data. An open one is marked opted out where it stands, so opting
    back in carries on from there. Saying it twice changes (and audits) nothing."""
    if not progress.finished:
        progress.status = Status.OPTED_OUT
    return Step(progress, (say(survey, progress, _variant(progress, "opted_out")),),
                opted_out=None if standing.opted_out else True)


def _opt_in(survey: Survey, progress: Progress, standing: Standing) -> Step:
    """"You may contact me again": then carry on as a start would. From someone who never
    opted out it is only a start (Telegram's Start button sends it every time)."""
    if not standing.opted_out:
        return _start(survey, progress, standing)
    if progress.status == Status.OPTED_OUT:
        progress.status = Status.STOPPED if progress.asked else Status.CONSENT
    step = _start(survey, progress, replace(standing, opted_out=False))
    return Step(step.progress, (say(survey, progress, _variant(progress, "opted_in")),
                                *step.prompts), opted_out=False)


def _start(survey: Survey, progress: Progress, standing: Standing = ANSWERING) -> Step:
    if progress.status == Status.STOPPED:
        progress.status = (Status.CONSENT if progress.current == CONSENT
                           else Status.IN_PROGRESS)
        if progress.current == "":
            # Nothing left to ask: the answers wait to be checked, or (a response an
            # older version reopened by STOP and START) they were all given already.
            progress.status = Status.REVIEW if progress.review else Status.COMPLETED
    if progress.finished:
        return _finished(survey, progress, standing)
    if progress.status == Status.CONSENT and not progress.asked:
        progress.asked.append(CONSENT)
        about = ((say(survey, progress, "about_person", code=progress.about),)
                 if progress.about else ())
        return Step(progress, (say(survey, progress, "greeting"), *about,
                               ask(survey, progress)))
    if progress.status == Status.REVIEW:
        return Step(progress, (say(survey, progress, "welcome_back_review"),
                               _review(survey, progress)))
    question = _question(survey, progress.current)
    number, total = _position(survey, progress, question)
    where = (say(survey, progress, "welcome_back_at", number=number, total=total)
             if number else say(survey, progress, "welcome_back"))
    return Step(progress, (where, ask(survey, progress)))


def _ask_restart(survey: Survey, progress: Progress) -> Step:
    # A finished survey's answers are the evaluation's data; a person who said no may
    # change their mind and start again.
    if progress.status in (Status.COMPLETED, Status.OPTED_OUT):
        return Step(progress, (say(survey, progress, f"already_{progress.status}"),))
    progress.restarting = True
    return Step(progress, (ask(survey, progress, RESTART),))


def _confirm_restart(survey: Survey, progress: Progress, event: Event) -> Step:
    """The reply to "start again?": a clear yes starts the wave afresh; any other answer
    to it carries on. Anything that is not a reply to it (a button on a survey question)
    cancels the question and is handled as usual."""
    if event.kind == EventKind.AGAIN and event.question in ("", RESTART):
        return Step(progress, (ask(survey, progress, RESTART),))
    progress.restarting = False
    if event.kind not in _REPLIES or event.question not in ("", RESTART):
        return advance(survey, progress, event)
    option = _chosen(restart_question(survey), event)
    if option is None or option.code != 1:
        if progress.status in (Status.CONSENT, Status.IN_PROGRESS):
            resume: tuple[Prompt, ...] = (ask(survey, progress),)
        else:
            resume = _start(survey, progress).prompts
        return Step(progress, (say(survey, progress, "restart_cancelled"), *resume))
    fresh = begin(survey, progress.wave, progress.language, progress.channel,
                  progress.capabilities)
    fresh.asked.append(CONSENT)
    return Step(fresh, (say(survey, fresh, "restarted"), ask(survey, fresh)),
                withdrawn=tuple(progress.answers))


def _in_review(survey: Survey, progress: Progress, event: Event) -> Step:
    # A channel with no check-your-answers step (someone who moved from the web to a
    # text) finishes at once rather than getting stuck on a step it cannot show.
    if event.kind == EventKind.SUBMIT or not progress.review:
        progress.status = Status.COMPLETED
        progress.current = ""
        return Step(progress, (say(survey, progress, "closing"),))
    if event.kind == EventKind.CHANGE and event.value in progress.answers:
        progress.status = Status.IN_PROGRESS
        progress.current = event.value
        progress.returning_to_review = True
        progress.misunderstood = progress.silences = 0
        return Step(progress, (ask(survey, progress),))
    if event.kind == EventKind.STOP:
        progress.status = Status.STOPPED
        return Step(progress, (say(survey, progress, "stopped"),))
    return Step(progress, (_review(survey, progress),))


def _answering(survey: Survey, progress: Progress, event: Event,
               safeguarding: Safeguarding) -> Step:
    question = _question(survey, progress.current)
    kind = event.kind
    # Where back, skip and help are buttons (a web page), a typed "help" or "stop" in a
    # text box is the person's answer, not a command.
    if kind == EventKind.TEXT and progress.capabilities.typed_commands:
        command = command_in(event.value)
        kind = EventKind(command) if command else kind
    elif kind == EventKind.KEY:
        kind = _KEYPAD_COMMANDS.get(event.value.strip(), kind)

    if kind == EventKind.AGAIN:
        return Step(progress, (ask(survey, progress),))
    if kind == EventKind.HELP:
        text = localise(question.help, progress.language) if question.help else ""
        help_prompt = (Prompt("say", text, progress.language) if text
                       else say(survey, progress, _variant(progress, "help")))
        return Step(progress, (help_prompt, ask(survey, progress)))
    if kind == EventKind.STOP:
        progress.status = Status.STOPPED
        return Step(progress, (say(survey, progress, "stopped"),))
    if kind == EventKind.BACK:
        return _back(survey, progress)
    if event.question and event.question != question.id:
        # A button on an old message, or a page submitted twice: never let it change
        # the answer to a different question.
        return Step(progress, (say(survey, progress, "old_question"), ask(survey, progress)))
    if question.id == CONSENT:
        return _consent(survey, progress, event, kind)
    if kind == EventKind.SKIP:
        return _move_on(survey, progress, question,
                        Recorded(question.id, AnswerStatus.SKIPPED, raw=event.value),
                        say(survey, progress, "skipped"))
    if kind == EventKind.SILENCE:
        progress.silences += 1
        if progress.silences < 2:
            return Step(progress, (say(survey, progress, "silence"), ask(survey, progress)))
        return _move_on(survey, progress, question, Recorded(question.id, AnswerStatus.NO_ANSWER),
                        say(survey, progress, "moving_on"))
    if kind == EventKind.RECORDING:
        # Only an open question takes a voice message; elsewhere a recording's file
        # name must never be read as words that happen to match an answer.
        if question.type != "open":
            return _not_understood(survey, progress, question)
        shown = survey.phrase("recorded", progress.language)
        # A recording has no words to check: until someone has listened (and written
        # it down), it waits in the review queue, so no story goes unheard.
        return _move_on(survey, progress, question,
                        Recorded(question.id, AnswerStatus.ANSWERED, recording=event.value,
                                 label=shown, concerns=(UNHEARD,)),
                        None, shown)
    return _answer(survey, progress, question, event, safeguarding)


def _consent(survey: Survey, progress: Progress, event: Event, kind: EventKind) -> Step:
    question = consent_question(survey)
    option = _chosen(question, event) if kind in _REPLIES else None
    if option is not None and option.code == 1:
        progress.status = Status.IN_PROGRESS
        progress.misunderstood = 0
        first = _next_question(survey, progress, CONSENT)
        assert first is not None, "the loader guarantees every wave has questions"
        progress.current = first.id
        progress.asked.append(first.id)
        _, total = _position(survey, progress, first)
        return Step(progress, (say(survey, progress, "consent_thanks", total=total),
                               ask(survey, progress)), consent_given=True)
    if option is not None and option.code == 2:
        progress.status = Status.DECLINED
        progress.current = ""
        return Step(progress, (say(survey, progress, "declined"),), consent_given=False)
    if option is not None:  # "not sure" about taking part: explain, then ask again
        return Step(progress, (say(survey, progress, "consent_help"), ask(survey, progress)))
    return _not_understood(survey, progress, question, empty=not event.value.strip())


def _chosen(question: Question, event: Event) -> Option | None:
    if event.kind == EventKind.BUTTON:
        try:
            return question.option(int(event.value))
        except ValueError:
            return None
    return read_reply(question, event.value).option


def _answer(survey: Survey, progress: Progress, question: Question, event: Event,
            safeguarding: Safeguarding) -> Step:
    lang = progress.language
    if question.has_options:
        option = _chosen(question, event)
        if option is None:
            return _not_understood(survey, progress, question, empty=not event.value.strip())
        if question.role == "who_answering":
            progress.who_answered = option.name
        label = localise(option.label, "en")
        shown = localise(option.label, lang)
        code = NOT_SURE_CODE if option.not_sure else option.code
        # Typed words beyond the answer ("No. I am scared") are read for worrying words
        # and kept beside the coded answer; an answer the survey marks for review is
        # flagged whatever the words.
        # One word that chose an answer ("yes", "happy") holds nothing more to read.
        words = event.value if event.kind == EventKind.TEXT else ""
        concerns = safeguarding.concerns(words) if len(words.split()) > 1 else ()
        if option.code in question.review_if:
            concerns = (f"answer: {label}", *concerns)
        recorded = Recorded(question.id, AnswerStatus.ANSWERED, code=code, label=label,
                            raw=event.value, text=words if concerns else "",
                            concerns=concerns)
        return _move_on(survey, progress, question, recorded,
                        _safeguarding_note(survey, progress, safeguarding, concerns), shown)
    reading = read_reply(question, event.value)
    if question.type == "number":
        if reading.number is None:
            return _not_understood(survey, progress, question, reading.out_of_range,
                                   empty=not event.value.strip())
        recorded = Recorded(question.id, AnswerStatus.ANSWERED, code=reading.number,
                            label=str(reading.number), raw=event.value)
        return _move_on(survey, progress, question, recorded, None, str(reading.number))
    if not reading.text:
        return _not_understood(survey, progress, question, empty=not event.value.strip())
    concerns = safeguarding.concerns(reading.text)
    recorded = Recorded(question.id, AnswerStatus.ANSWERED, text=reading.text, raw=event.value,
                        concerns=concerns)
    return _move_on(survey, progress, question, recorded,
                    _safeguarding_note(survey, progress, safeguarding, concerns), reading.text)


def _safeguarding_note(survey: Survey, progress: Progress, safeguarding: Safeguarding,
                       concerns: tuple[str, ...]) -> Prompt | None:
    """Who to call if the person is in danger, when an answer gave cause for concern."""
    if not concerns:
        return None
    return say(survey, progress, "safeguarding", contact=safeguarding.contact)


def _range(question: Question) -> dict[str, object]:
    """The values of the "number_range" phrase for a number question."""
    low = question.minimum if question.minimum is not None else 0
    return {"low": low, "high": question.maximum}


def _not_understood(survey: Survey, progress: Progress, question: Question,
                    out_of_range: bool = False, empty: bool = False) -> Step:
    if empty:
        # Nothing was chosen or typed (a form sent blank): say so, every time. It is
        # not a misunderstanding, so it never escalates to offering a skip.
        phrase = say(survey, progress, "nothing_given")
        return Step(progress, (phrase, ask(survey, progress, error=phrase.text)))
    progress.misunderstood += 1
    if out_of_range:
        phrase = say(survey, progress, "number_range", **_range(question))
    elif progress.misunderstood <= MAX_REASKS:
        phrase = say(survey, progress, "not_understood")
    else:
        phrase = say(survey, progress, _variant(progress, "offer_skip"))
    return Step(progress, (phrase, ask(survey, progress, error=phrase.text)))


def _move_on(survey: Survey, progress: Progress, question: Question, recorded: Recorded,
             note: Prompt | None, shown: str = "") -> Step:
    """Store ``recorded`` (unless practice) and ask the next question or finish."""
    prompts: list[Prompt] = [note] if note else []
    records: tuple[Recorded, ...] = ()
    if question.practice:
        # "Well done" only for an answer: skipping it or saying nothing is no practice.
        done = recorded.status == AnswerStatus.ANSWERED
        prompts.append(say(survey, progress, "practice_done" if done else "practice_over"))
    else:
        progress.answers[question.id] = {
            "code": recorded.code, "status": recorded.status,
            "shown": shown or survey.phrase(f"shown_{recorded.status}", progress.language),
            # What to show as already chosen or typed when the question comes round again.
            "given": recorded.text or ("" if recorded.code is None else str(recorded.code)),
        }
        records = (recorded,)
    progress.misunderstood = progress.silences = 0
    withdrawn = tuple(qid for qid in progress.answers
                      if not _applies(survey.question(qid), progress))
    for qid in withdrawn:
        del progress.answers[qid]
    following = _next_question(survey, progress, question.id)
    if following is None:
        progress.returning_to_review = False
        progress.current = ""
        if progress.review:
            progress.status = Status.REVIEW
            prompts.append(_review(survey, progress))
        else:
            progress.status = Status.COMPLETED
            prompts.append(say(survey, progress, "closing"))
        return Step(progress, tuple(prompts), records, withdrawn)
    progress.current = following.id
    progress.asked.append(following.id)
    prompts.append(ask(survey, progress))
    return Step(progress, tuple(prompts), records, withdrawn)


def _back_path(survey: Survey, progress: Progress) -> list[str]:
    """The questions asked before the current one, still on this person's route."""
    route_ids = {q.id for q in _route(survey, progress)}
    path = [qid for qid in progress.asked if qid in route_ids]
    while path and path[-1] == progress.current:
        path.pop()
    return path


def _back(survey: Survey, progress: Progress) -> Step:
    path = _back_path(survey, progress)
    if not path:
        return Step(progress, (say(survey, progress, "first_question"), ask(survey, progress)))
    progress.current = path[-1]
    progress.asked = [CONSENT, *path]
    progress.misunderstood = progress.silences = 0
    return Step(progress, (ask(survey, progress),))


# ---------------------------------------------------------------- every prompt


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _phrase_values(survey: Survey, language: str,
                   capabilities: Capabilities) -> dict[str, list[dict[str, object]]]:
    """Each phrase with placeholders the engine fills in, with every set of values it
    can fill in: question totals and positions for each wave and each answer that
    rules a conditional question in or out, and the range of each number question."""
    values: dict[str, list[dict[str, object]]] = {"consent_thanks": [], "welcome_back_at": []}
    for wave in WAVES:
        progress = begin(survey, wave, language, "", capabilities)
        # Right after consent nothing is answered, so every conditional question counts.
        _, total = _position(survey, progress, survey.questions[0])
        values["consent_thanks"].append({"total": total})
        targets = sorted({q.show_if.question for q in survey.questions
                          if q.show_if and q.asked_at(wave)})
        states = product(*[[None, *(o.code for o in survey.question(t).options)]
                           for t in targets])
        for state in states:
            progress.answers = {t: {"code": code} for t, code in zip(targets, state, strict=True)
                                if code is not None}
            for question in survey.questions:
                number, total = _position(survey, progress, question)
                if number:
                    values["welcome_back_at"].append({"number": number, "total": total})
    # Who to call, as said where the site has given no contact of its own.
    values["safeguarding"] = [{"contact": ""}]
    values["number_range"] = [_range(q) for q in survey.questions
                              if q.type == "number" and q.maximum is not None]
    return values


def every_prompt(survey: Survey, language: str,
                 capabilities: Capabilities) -> Iterator[Prompt]:
    """Every prompt the engine can give in ``language`` on a channel that can do
    ``capabilities``.

    Each question as ``ask`` builds it (so with that channel's instruction), and every
    shared phrase: as it stands, or with each set of values the engine fills in.
    Phrases that only appear inside instructions ("Press {key} for {label}.") are
    yielded as part of those. Audio rendering and the content checker walk this list,
    so they see exactly the words a person is sent.
    """
    progress = begin(survey, WAVES[0], language, "", capabilities)
    for question in (consent_question(survey), *survey.questions):
        yield ask(survey, progress, question.id)
    filled = _phrase_values(survey, language, capabilities)
    said: set[str] = set()
    for phrase_id, text in survey.phrases.items():
        names = _placeholders(localise(text, language))
        for values in filled.get(phrase_id, ()) if names else ({},):
            if not names <= values.keys():
                continue  # a placeholder the engine never fills: not a whole prompt
            prompt = say(survey, progress, phrase_id, **values)
            if prompt.text not in said:
                said.add(prompt.text)
                yield prompt
