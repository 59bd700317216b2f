"""Personal details typed into free text, found and replaced for pseudonymised exports.

A person may type their phone number, email address, home address, postcode or a name
into an open answer ("ring me on 07700 900123", "my carer Sarah Jones"). Each kind is
found by a maintained library where one does the job offline:

- phone numbers: Google's ``phonenumbers`` (UK numbering plan, lenient), at least 7
  digits, so a year or a count is never taken for one;
- email addresses, UK postcodes, web addresses and National Insurance numbers:
  ``scrubadub``'s detectors (its ``en_GB`` locale);
- names: a capitalised word in the first-name lists that ship with ``faker`` (a
  ``scrubadub`` dependency: its British, Irish, American and Indian English lists),
  with the capitalised word after it (the surname), and any capitalised word after a
  title (Mr, Mrs, Ms, Miss, Dr); first names that are also everyday words (Will, May,
  Hope, Grace...) count only beside a surname or after a title;
- street addresses: no library here finds them without a downloaded model (libpostal),
  so a small rule does: a house number, one to three words and a street word (Road,
  Street, Close...), or "Flat 3".

What names reach, honestly: capitalised names whose first name is in those lists, and
titled names. A name typed in lower case ("sarah"), a surname alone ("Jones said") and
first names outside the lists are left; ``bench/redaction_recall.py`` prints the recall
on the labelled sentences in ``tests/data/redaction_sentences.csv``.

Speed: an export may hold a million answers, so ``redact`` first asks cheap questions
(a digit? an @? "www."? a letter before a digit? a capitalised word that is a name or a
title?) and hands a text to a detector only when the question for it says yes; most
answers hold none of these. ``scrubadub`` takes seconds to import, so it is loaded on
first use (``load``), not when the web app starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import phonenumbers

PHONE_REMOVED = "[phone number removed]"
REMOVED = {
    "phone": PHONE_REMOVED,
    "email": "[email removed]",
    "postcode": "[postcode removed]",
    "address": "[address removed]",
    "name": "[name removed]",
    "url": "[web address removed]",
    "ni_number": "[NI number removed]",
}
KINDS = tuple(REMOVED)

# A phone number or chat id has at least 7 digits; shorter runs are ages, years, counts.
_MIN_DIGITS = 7
_DIGIT = re.compile(r"\d")
# Anything a detector other than names could match holds one of these.
_CUE = re.compile(r"[\d@]|www\.|://", re.IGNORECASE)
_LETTER_DIGIT = re.compile(r"[A-Za-z]\d")
_PUNCTUATION = "\"'“”‘’()[]{}<>,.;:!?*_-"
_AT_WORD = re.compile(r"[^\s@]*@[^\s@]+")
# A word: letters, with inner apostrophes or hyphens (O'Brien, Smith-Jones, Zoë).
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "nurse"})
# First names that are everyday words too: a name only beside a surname or a title.
_EVERYDAY = _words("""
    will may june april august hope faith joy grace mark bill rose ruby pearl amber
    holly ivy dawn summer autumn sky rain honey bob pat sue frank art miles
    guy page sunny lily daisy poppy hazel iris violet jasmine heather crystal
    angel star dean earl king prince rich rod ray gay gene chance chase drew
    christian ash penny sandy rusty sterling hunter mason carter taylor cooper
    harley jordan kelly lee long rob ben jean sean don ed al tom ted tim max gene
    victoria florence sydney paris chelsea brooke brook lane glen dale hill
    wood young white brown green black gray grey may mercy patience charity
    constance prudence harmony melody destiny trinity liberty justice man peace
    said precious blessing gift favour comfort kindness princess honour wisdom
    marvel lucky sunday goodness happiness
    """)
# Words that never start a surname after a first name ("Sarah And me", "Tom I think").
_NOT_SURNAME = _words("""
    i and or but the a an my our your his her their to at in on of for with
    is was are were has had have do did said says told rang called came went
    """)
# A street word after a house number and the street's own name.
_STREET = re.compile(
    r"(?<![\w£$.,])(?:(?:flat|apartment|apt|unit)\s+\d+[a-z]?,?\s+)?"
    r"\d{1,4}[a-z]?,?\s+((?:[^\W\d_][\w'’-]*\s+){1,3})"
    r"(?:road|rd|street|st|avenue|ave|lane|ln|close|drive|dr|way|court|ct|crescent|"
    r"cres|place|pl|gardens|gdns|terrace|grove|park|square|sq|hill|row|walk|mews|"
    r"view|rise|green|parade|vale|fold|gate|mount|croft|villas|boulevard|wharf|"
    r"quay|crossing|meadow|meadows|chase|end|brow|bank|side|yard|passage)\b\.?",
    re.IGNORECASE)
_FLAT = re.compile(r"\b(?:flat|apartment|apt)\s+\d+[a-z]?\b", re.IGNORECASE)
# Words that do not name a street: "3 times to the park" is not an address.
_NOT_STREET = _words("""
    a an the to of in on at for with and or my our your his her their times days
    weeks months years hours minutes more less than about every each per is was
    """)


@dataclass(frozen=True, order=True)
class Found:
    """A personal detail in a text: ``text[start:end]`` is one of ``kind``."""

    start: int
    end: int
    kind: str


# Faker's name lists in Latin script for the UK and the countries most people born
# abroad who live here come from (the 2021 census): Ireland, India, Pakistan, Poland,
# Romania, Nigeria, Italy, Portugal, Lithuania, Ghana; and the United States.
_NAME_LOCALES = ("en_GB", "en_IE", "ga_IE", "en_US", "en_IN", "en_PK", "pl_PL", "ro_RO",
                 "en_NG", "yo_NG", "ig_NG", "ha_NG", "it_IT", "pt_PT", "lt_LT", "tw_GH")


@cache
def _names() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased first names and surnames from faker's English-language lists."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _NAME_LOCALES:
        provider: Any = import_module(f"faker.providers.person.{locale}").Provider
        first.update(n.lower() for n in provider.first_names)
        last.update(n.lower() for n in provider.last_names)
    return frozenset(first), frozenset(last)


@cache
def load() -> dict[str, Any]:
    """The scrubadub detectors, built once (importing scrubadub takes seconds)."""
    from scrubadub.detectors.email import EmailDetector
    from scrubadub.detectors.en_GB.national_insurance_number import (
        NationalInsuranceNumberDetector,
    )
    from scrubadub.detectors.postalcode import PostalCodeDetector
    from scrubadub.detectors.url import UrlDetector

    _names()
    return {"email": EmailDetector(locale="en_GB"),
            "postcode": PostalCodeDetector(locale="en_GB"),
            "url": UrlDetector(locale="en_GB"),
            "ni_number": NationalInsuranceNumberDetector(locale="en_GB")}


def _phones(text: str) -> Iterator[Found]:
    for match in phonenumbers.PhoneNumberMatcher(text, "GB",
                                                 leniency=phonenumbers.Leniency.POSSIBLE):
        if len(_DIGIT.findall(match.raw_string)) >= _MIN_DIGITS:
            yield Found(match.start, match.end, "phone")


def _addresses(text: str) -> Iterator[Found]:
    for match in _STREET.finditer(text):
        words = match.group(1).lower().split()
        if not _NOT_STREET.intersection(words):
            yield Found(match.start(), match.end(), "address")
    for match in _FLAT.finditer(text):
        yield Found(match.start(), match.end(), "address")


def _capitalised(word: str) -> bool:
    """Starts with a capital, and is not a short acronym (NHS, CAL)."""
    return word[0].isupper() and not (len(word) <= 3 and word.isupper())


def _names_in(words: list[re.Match[str]], text: str) -> Iterator[Found]:
    first, last = _names()
    at = 0
    while at < len(words):
        word = words[at]
        lower = _bare(word.group())
        nxt = words[at + 1] if at + 1 < len(words) else None
        # The next word, when it is capitalised and follows on the same phrase.
        surname = (nxt if nxt is not None and _capitalised(nxt.group())
                   and text[word.end():nxt.start()] in (" ", "\u00a0")
                   and _bare(nxt.group()) not in _NOT_SURNAME else None)
        if lower in _TITLES and surname is not None:
            yield Found(word.start(), surname.end(), "name")
            at += 2
            continue
        if _capitalised(word.group()) and lower in first:
            if surname is not None and (lower not in _EVERYDAY
                                        or _bare(surname.group()) in last):
                yield Found(word.start(), surname.end(), "name")
                at += 2
                continue
            if lower not in _EVERYDAY:
                yield Found(word.start(), word.end(), "name")
        at += 1


def _bare(word: str) -> str:
    """A word lower-cased, without punctuation around it or a possessive 's."""
    word = word.strip(_PUNCTUATION).lower()
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _may_name(text: str) -> bool:
    """A capitalised word that is a first name or a title (split: the cheap look)."""
    first, _ = _names()
    return any(word[:1].isupper() and ((bare := _bare(word)) in first or bare in _TITLES)
               for word in text.split())


def find(text: str) -> list[Found]:
    """Every personal detail in ``text``, in order, overlaps merged into the first."""
    found: list[Found] = []
    if _CUE.search(text):
        digits = len(_DIGIT.findall(text))
        if digits >= _MIN_DIGITS:
            found.extend(_phones(text))
        # Each detector only where what it looks for could be: most answers with a
        # digit hold an age or a count, not a postcode.
        wanted = [kind for kind, cue in (
            ("email", "@" in text), ("url", "www." in text.lower() or "://" in text),
            ("ni_number", digits >= 6),
            ("postcode", _LETTER_DIGIT.search(text) is not None)) if cue]
        for kind in wanted:
            found.extend(Found(f.beg, f.end, kind) for f in load()[kind].iter_filth(text))
        if "email" in wanted:
            # scrubadub also reads "me at home.net" as an address, which can swallow
            # the start of a real one after it ("email me at sarah.jones@example.com"
            # gives "me at sarah.jones"): each word holding an @ is looked at alone too.
            for word in _AT_WORD.finditer(text):
                found.extend(Found(word.start() + f.beg, word.start() + f.end, "email")
                             for f in load()["email"].iter_filth(word.group()))
        if digits:
            found.extend(_addresses(text))
    if _may_name(text):
        found.extend(_names_in(list(_WORD.finditer(text)), text))
    if len(found) < 2:
        return found
    merged: list[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and item.start < merged[-1].end:
            if item.end > merged[-1].end:
                last = merged[-1]
                merged[-1] = Found(last.start, item.end, last.kind)
            continue
        merged.append(item)
    return merged


def redact(text: str) -> str:
    """``text`` with each personal detail replaced by what was removed ("[email removed]")."""
    for item in reversed(find(text)):
        text = text[:item.start] + REMOVED[item.kind] + text[item.end:]
    return text
