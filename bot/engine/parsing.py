"""Understanding replies from every channel: typed words, emoji, digits and speech.

One parser serves SMS, voice (keypad and speech), Telegram, the web and the terminal, so
"1", "one", "Yes!", "y", "👍" and a spoken "yes." all mean the same thing everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .model import Option, Question

NUMBER_WORDS = {
    "zero": 0, "none": 0, "nothing": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100,
}

# Words that steer the conversation rather than answer it. A reply counts as a command
# only when it is nothing but the command, so "help me" at an open question is an answer.
# The Polish and Urdu words are the ones content/easy_read/phrases.yaml tells people to
# reply with in those languages.
COMMANDS = {
    "again": ("again", "repeat", "say again", "say it again", "pardon", "what", "*", "🔁",
              "powtórz", "jeszcze raz", "دوبارہ"),
    "back": ("back", "go back", "previous", "⬅", "⬅️", "🔙", "wstecz", "cofnij", "واپس"),
    "skip": ("skip", "next", "pass", "#", "⏭", "⏭️", "pomiń", "dalej", "چھوڑیں", "اگلا"),
    "help": ("help", "?", "🆘", "pomoc", "مدد"),
    "stop": ("stop", "quit", "exit", "pause", "later", "🛑", "koniec", "بند"),
}

# Control characters (but tab and line breaks) and lone surrogates: invisible, never part
# of an answer, and not storable everywhere (PostgreSQL refuses NUL in text; a lone
# surrogate cannot be written as UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Emoji modifiers that should not change what an emoji means.
_MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")


def printable(raw: str) -> str:
    """``raw`` as the person meant it: without control characters or lone surrogates."""
    return _UNPRINTABLE.sub("", raw)


def normalise(raw: str) -> str:
    """Fold case, drop punctuation and control characters, collapse spaces.

    Symbols (emoji) survive; a lone ``*``, ``#`` or ``?`` survives too, because on a
    keypad or in a text they are commands.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    text = _MODIFIERS.sub("", text).casefold().replace("’", "'")
    if text.strip() in ("*", "#", "?"):
        return text.strip()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char == "'":
            continue  # "don't" and "dont" are the same word
        if category.startswith(("P", "C")) and char not in "\n\t":
            kept.append(" ")
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


# The network's and Twilio's opt-out, opt-in and help keywords, matched on a whole text.
CARRIER_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"), "opt_out"),
    **dict.fromkeys(("START", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}


def carrier_keyword(raw: str) -> str:
    """"opt_out", "opt_in" or "help" when the whole text is such a keyword, else ""."""
    return CARRIER_KEYWORDS.get(re.sub(r"[\W_]+", "", raw).upper(), "")


def command_in(raw: str) -> str | None:
    """The command a whole reply asks for ("again", "back", "skip", "help", "stop")."""
    text = normalise(raw)
    for command, words in COMMANDS.items():
        if text in words:
            return command
    return None


def _pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)")


# Survey wording (labels, keywords, emoji) is folded on every reply; it is a small,
# fixed set, so each is folded once.
_folded = lru_cache(maxsize=4096)(normalise)


def _keywords(option: Option) -> set[str]:
    words = {_folded(k) for k in option.keywords}
    words.update(_folded(label) for label in option.label.values())
    if option.emoji:
        words.add(_folded(option.emoji))
    words.add(option.key)
    words.update(word for word, value in NUMBER_WORDS.items() if str(value) == option.key)
    words.discard("")
    return words


def match_option(question: Question, raw: str) -> Option | None:
    """The single option a reply points to, or None when it is unclear.

    Longer keywords win over the shorter ones inside them ("not sure" beats "sure",
    "not good" beats "good"); a reply that points to two options is unclear.
    """
    text = normalise(raw)
    if not text:
        return None
    for option in question.options:
        if text == option.key or text in _keywords(option):
            return option
    spans: list[tuple[int, int, Option]] = []
    for option in question.options:
        for keyword in _keywords(option):
            spans.extend((m.start(), m.end(), option) for m in _pattern(keyword).finditer(text))
    spans.sort(key=lambda span: span[0] - span[1])
    taken: list[tuple[int, int, Option]] = []
    for start, end, option in spans:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, option))
    chosen = {option.code: option for _, _, option in taken}
    return next(iter(chosen.values())) if len(chosen) == 1 else None


def parse_number(raw: str) -> int | None:
    """A whole number from digits ("3", "I have 3") or words ("three", "twenty one")."""
    text = normalise(raw)
    digits = re.findall(r"\d+", text)
    if len(digits) == 1:
        try:
            return int(digits[0])
        except ValueError:  # longer than Python will read (4,300 digits): no real answer
            return None
    if digits:
        return None
    words = text.replace("-", " ").split()
    values = [NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS]
    if not values:
        return None
    return sum(values)


@dataclass(frozen=True)
class Reading:
    """What a reply means for the question it answers."""

    option: Option | None = None
    number: int | None = None
    text: str = ""
    out_of_range: bool = False

    @property
    def understood(self) -> bool:
        return self.option is not None or self.number is not None or bool(self.text)


def read_reply(question: Question, raw: str) -> Reading:
    """Interpret ``raw`` as an answer to ``question``."""
    if question.type == "open":
        text = " ".join((raw or "").split())
        return Reading(text=text)
    if question.type == "number":
        number = parse_number(raw)
        if number is None:
            return Reading()
        low = question.minimum if question.minimum is not None else 0
        high = question.maximum
        if number < low or (high is not None and number > high):
            return Reading(out_of_range=True)
        return Reading(number=number)
    return Reading(option=match_option(question, raw))
