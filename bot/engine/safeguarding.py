"""Spotting worrying words in free-text answers, for every channel at once.

A site keeps its own list of words and phrases (one a line). An open answer that holds
one is flagged for a named person at the site to review, and the person who wrote it
is told who to call. Matching folds case and punctuation like reply parsing does, so
"HURT me!!" matches "hurt me"; a word ending in ``*`` matches any word it begins
("abus*" finds "abuse", "abused", "abusing").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .parsing import normalise

# A starting list for a new site; each site edits its own on the staff settings page.
DEFAULT_WORDS = (
    "abus*", "afraid", "beat me", "bull*", "cut myself", "die", "end my life",
    "frighten*", "harm myself", "hit me", "hits me", "hitting me", "hungry", "hurt*",
    "kill*", "locked in", "no food", "not safe", "scared", "suicid*", "touched me",
    "unsafe", "want to die",
)


# Every event reads its site's list; a few sites' lists are folded once each.
@lru_cache(maxsize=64)
def word_list(text: str) -> tuple[str, ...]:
    """A site's list as typed (one word or phrase a line), folded and without repeats."""
    words: dict[str, None] = {}
    for line in text.splitlines():
        star = line.strip().endswith("*")
        folded = normalise(line)
        if folded:
            words[folded + ("*" if star else "")] = None
    return tuple(words)


def _found(tokens: list[str], phrase: str) -> bool:
    wanted = phrase.split()
    prefix = wanted[-1].endswith("*")
    if prefix:
        wanted[-1] = wanted[-1].rstrip("*")
    size = len(wanted)
    for start in range(len(tokens) - size + 1):
        window = tokens[start:start + size]
        if prefix:
            if window[:-1] == wanted[:-1] and window[-1].startswith(wanted[-1]):
                return True
        elif window == wanted:
            return True
    return False


def worrying_words(text: str, words: tuple[str, ...]) -> tuple[str, ...]:
    """The entries of ``words`` (from ``word_list``) that ``text`` contains, in list order."""
    tokens = normalise(text).split()
    return tuple(phrase for phrase in words if phrase.rstrip("*") and _found(tokens, phrase))


@dataclass(frozen=True)
class Safeguarding:
    """A site's worrying words and who a person in danger should call."""

    words: tuple[str, ...] = ()
    contact: str = ""

    @classmethod
    def for_site(cls, words_text: str, contact: str) -> Safeguarding:
        """Build from a site's stored list (one a line) and contact wording."""
        return cls(word_list(words_text), " ".join(contact.split()))

    def concerns(self, text: str) -> tuple[str, ...]:
        """The worrying words in ``text``; empty when there are none."""
        return worrying_words(text, self.words)
