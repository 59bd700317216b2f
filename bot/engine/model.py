"""The survey as the engine sees it: plain, frozen dataclasses.

Everything here is standard library only. The YAML loader in ``content/`` builds these
objects; every channel reads them through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_LANGUAGE = "en"
WAVES = ("baseline", "exit")
RESPONDENT_TYPES = ("individual", "family", "professional")
QUESTION_TYPES = ("yes_no", "scale3", "agree5", "choice", "number", "open")
# Who answered, as recorded on every response (docs/content-rules.md: never pool these).
WHO_ANSWERED = ("self", "supported", "family_carer", "professional")

WEB_PHRASES = (
    "web_continue", "web_skip", "web_back", "web_change", "web_send", "web_problem",
    "web_error", "web_question_number", "web_listen", "web_listen_to", "web_no_audio",
    "web_change_answer", "web_pictures_off", "web_pictures_on",
    "web_sent", "web_finished", "web_link_unknown", "web_link_unknown_help", "web_link_old",
    "web_link_old_help", "web_try_again", "web_record_or", "web_record_file",
    "web_record_file_hint", "web_record_start", "web_record_stop", "web_record_recording",
    "web_record_done", "web_record_denied", "web_recording_empty", "web_recording_too_big",
    "web_recording_not_audio", "web_recording_and_words",
)

# Every phrase the engine or a channel may say; the loader refuses a phrases file that
# lacks one.
REQUIRED_PHRASES = (
    "greeting", "consent_thanks", "consent_help", "declined", "already_completed",
    "already_declined", "already_opted_out", "welcome_back_at", "welcome_back",
    "welcome_back_review", "not_understood", "offer_skip_text", "offer_skip_keys",
    "offer_skip_buttons", "help_text", "help_keys", "help_buttons", "stopped", "skipped",
    "silence", "moving_on", "practice_done", "practice_over", "closing", "review", "not_answered",
    "shown_skipped", "shown_no_answer", "recorded", "first_question", "number_range",
    "choices_text", "open_text", "number_text", "option_keys", "not_sure_keys",
    # A long scale texted by its two ends ("Reply 1 to 5:"), where listed whole it would
    # not fit the channel's segments.
    "scale_ends_text",
    "again_keys", "skip_keys", "open_keys", "number_keys", "open_buttons", "number_buttons",
    "old_question", "nothing_given",
    "safeguarding", "restart_confirm", "message_kept",
    "restart_cancelled", "restarted",
    # Opting out of (and back in to) every contact, worded for how the channel answers.
    "opted_out_text", "opted_out_keys", "opted_out_buttons", "opted_in_text",
    "opted_in_keys", "opted_in_buttons",
    # Telegram: the buttons under a question, and what the bot says outside a survey.
    "button_again", "button_skip", "button_back", "link_needed", "link_broken",
    "choose_language", "language_name", "something_wrong",
    # Words on the web pages (buttons, headings, link problems), so they are translated
    # and checked like every other phrase.
    *WEB_PHRASES,
)

# Code stored for "Not sure" on every standard scale: one value, declared missing in SPSS.
NOT_SURE_CODE = 9

# Scored domains (bot/engine/scoring.py): how a domain's score is made from its items,
# and which questions may be items (answers on an ordered scale, or numbers).
SCORE_RULES = ("sum", "mean")
NOT_SURE_RULES = ("missing", "midpoint")
SKIPPED_RULES = ("missing",)
SCORED_TYPES = ("scale3", "agree5", "number")
# Scales whose answers are points in order (not sure aside), keyed 1, 2, 3...: one of at
# least ANCHORED_POINTS points can be texted by its two ends when its whole list is too
# long (a shorter one is always listed whole: its middle would be lost).
ORDERED_SCALES = ("scale3", "agree5")
ANCHORED_POINTS = 5

Text = Mapping[str, str]


def localise(text: Text, language: str) -> str:
    """Return the wording in ``language``, falling back to English."""
    return text.get(language) or text.get(DEFAULT_LANGUAGE) or next(iter(text.values()), "")


@dataclass(frozen=True)
class Option:
    """One answer a person can give: a code for the data, words, a picture and keys."""

    code: int
    label: Text
    key: str
    emoji: str = ""
    picture: str = ""
    keywords: tuple[str, ...] = ()
    name: str = ""
    not_sure: bool = False


@dataclass(frozen=True)
class ShowIf:
    """Ask a question only when an earlier one was answered with one of ``codes``."""

    question: str
    codes: frozenset[int]


@dataclass(frozen=True)
class Question:
    """One question of a survey, in every language it is written in."""

    id: str
    type: str
    text: Text
    label: str = ""
    help: Text = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    # The timepoints it is asked at; empty: every timepoint of the site's plan.
    waves: frozenset[str] = frozenset()
    show_if: ShowIf | None = None
    practice: bool = False
    role: str = ""
    minimum: int | None = None
    maximum: int | None = None
    record: bool = False
    # Answers that need a person at the site to look (e.g. "No" to "Do you feel safe?").
    review_if: frozenset[int] = frozenset()
    picture: str = ""  # a picture of what the question is about (a file name)
    line: int = 0

    @property
    def is_data(self) -> bool:
        """True when the answer is evaluation data (not the practice question)."""
        return not self.practice

    def asked_at(self, timepoint: str) -> bool:
        """True when the question is asked at ``timepoint``."""
        return not self.waves or timepoint in self.waves

    @property
    def has_options(self) -> bool:
        return self.type not in ("number", "open")

    def option(self, code: int) -> Option | None:
        """The option with ``code``, if any."""
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Domain:
    """Questions scored together (a "domain" of an outcome measure).

    ``score`` is "sum" or "mean" of the items; ``reverse`` items count as min + max -
    code. ``not_sure`` is "missing" (left out) or "midpoint" (counted as the middle of
    the scale); a skipped or unasked item is missing. With fewer than ``min_answered``
    items counted the score is missing (0: every item must be counted).
    """

    id: str
    label: Text
    questions: tuple[str, ...]
    score: str = "mean"
    reverse: frozenset[str] = frozenset()
    not_sure: str = "missing"
    skipped: str = "missing"
    min_answered: int = 0
    line: int = 0

    @property
    def needed(self) -> int:
        """How many items must be counted for a score."""
        return self.min_answered or len(self.questions)


@dataclass(frozen=True)
class Survey:
    """A whole survey: consent wording, questions and the shared phrases."""

    id: str
    title: Text
    respondent_type: str
    consent: Text
    questions: tuple[Question, ...]
    phrases: Mapping[str, Text]
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)
    answered_by: str = ""
    source: str = ""
    yes_no: tuple[Option, ...] = ()  # the standard yes/no answers, used for consent
    domains: tuple[Domain, ...] = ()

    def question(self, question_id: str) -> Question:
        """The question with ``question_id``; KeyError when there is none."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def phrase(self, phrase_id: str, language: str, **values: object) -> str:
        """A shared phrase in ``language`` with ``{placeholders}`` filled in."""
        return localise(self.phrases[phrase_id], language).format(**values)

    def for_wave(self, wave: str) -> tuple[Question, ...]:
        """The questions asked in ``wave``, in order."""
        return tuple(q for q in self.questions if q.asked_at(wave))
