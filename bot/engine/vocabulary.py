"""The engine's words, defined once: statuses, event kinds, needs and what a channel can do.

Every other layer imports these rather than spelling the strings out. They are
``StrEnum``s, so a value compares equal to its string and is stored as that string in
JSON and in the database: rows written before these existed read back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Where one person's response stands, as the engine tracks it."""

    CONSENT = "consent"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    STOPPED = "stopped"  # paused: the person can carry on
    COMPLETED = "completed"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"


OPEN_STATUSES = frozenset({Status.CONSENT, Status.IN_PROGRESS, Status.REVIEW, Status.STOPPED})
FINISHED_STATUSES = frozenset({Status.COMPLETED, Status.DECLINED, Status.OPTED_OUT})


class ResponseStatus(StrEnum):
    """A response's status as exports and the dashboard count it."""

    STARTED = "started"
    COMPLETED = "completed"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"


def response_status(status: str) -> ResponseStatus:
    """The counted status for an engine status: every open one counts as started."""
    return (ResponseStatus.STARTED if status in OPEN_STATUSES
            else ResponseStatus(status))


class EventKind(StrEnum):
    """Everything a person (or a provider on their behalf) can do."""

    START = "start"
    TEXT = "text"
    KEY = "key"
    BUTTON = "button"
    AGAIN = "again"
    BACK = "back"
    SKIP = "skip"
    HELP = "help"
    STOP = "stop"  # pause the survey: the person can carry on later
    SILENCE = "silence"
    RECORDING = "recording"
    CHANGE = "change"
    SUBMIT = "submit"
    RESTART = "restart"
    OPT_OUT = "opt_out"  # never contact me again (STOP to a text, /stop, a provider's word)
    OPT_IN = "opt_in"  # you may contact me again (START, /start)
    ENTRY = "entry"  # add a journal or story entry (its name): a web page's button


class AnswerMode(StrEnum):
    """How a person gives an answer on a channel; decides the words that say how."""

    KEYS = "keys"  # a phone keypad (and speech)
    TEXT = "text"  # typed words, digits or emoji in a message
    BUTTONS = "buttons"  # buttons under a message
    PAGES = "pages"  # a form on a web page


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do. The engine reads these, never a channel's name.

    ``review``: a check-your-answers step before the answers are sent.
    ``typed_commands``: a whole reply such as "help" or "skip" is a command; where
    commands are buttons, typed words are always an answer.
    ``carrier_keywords``: the network treats STOP, START and HELP specially (SMS), so a
    text that is only such a word opts out, opts in or asks for help.
    ``resume_after_hours``: a channel with no sessions; a reply this long after the last
    one starts the conversation again, telling the person where they are.
    ``max_segments``: a text message is sent, and paid for, in segments (160 plain
    characters, or 70 once one character is not: an Urdu or Polish letter, an emoji). A
    long scale question whose answers, listed in full, would make it longer than this is
    texted with the scale's two ends only (0: no limit).
    """

    answers_by: AnswerMode = AnswerMode.TEXT
    review: bool = False
    typed_commands: bool = True
    carrier_keywords: bool = False
    resume_after_hours: float = 0.0
    max_segments: int = 0

    @property
    def phrase_group(self) -> str:
        """The suffix of a phrase written per way of answering: ``keys``, ``text``, or
        ``buttons`` for buttons and pages alike."""
        return "buttons" if self.shows_choices else str(self.answers_by)

    @property
    def shows_choices(self) -> bool:
        """True when the choices are shown to press, so no words need say how."""
        return self.answers_by in (AnswerMode.BUTTONS, AnswerMode.PAGES)


class Need(StrEnum):
    """Communication needs a participant may have; each changes what they get."""

    EASY_READ = "easy-read"
    AUDIO_FIRST = "audio-first"
    SLOW_SPEECH = "slow-speech"
    LARGE_PRINT = "large-print"
    NO_PICTURES = "no-pictures"
    NO_AUDIO = "no-audio"
    PICTURES = "pictures"
    SUPPORTER = "supporter"  # answers with a supporter: invitations say so


class AnswerStatus(StrEnum):
    """What became of one question for one person."""

    ANSWERED = "answered"
    SKIPPED = "skipped"
    NO_ANSWER = "no_answer"
