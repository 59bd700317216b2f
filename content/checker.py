"""The easy-read checker: every respondent-facing text against docs/content-rules.md.

A site that writes its own questions runs ``nsw-feedback content check`` and is told,
line by line (``file:question: rule: suggestion``), what to change. The numbers live in
``checker.yaml``. Counting words, sentences, capitals and digits needs no library
(readability libraries that download dictionaries fail offline); how common a word is
comes from ``wordfreq``, whose word lists are installed with it.

Raw wording is checked, and so is every message as each channel composes it (a
question with its instruction, a phrase with its values filled in), so a sentence made
long by the answers listed in it is caught too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from wordfreq import zipf_frequency

from bot.channel_table import CHANNELS, ChannelName
from bot.engine import (
    CONSENT,
    WAVES,
    AnswerMode,
    Capabilities,
    Option,
    Prompt,
    Survey,
    every_prompt,
    prompt_text,
    sms_segments,
)
from bot.engine.parsing import COMMANDS

from .audio import SPEEDS, find_audio, spoken_items
from .loader import (
    CHECKER_FILE,
    STANDARD_SCALES,
    ContentError,
    content_folder,
    load_library,
    load_phrases,
    load_scales,
    load_survey,
    shared_file,
)

RULES = ("invalid", "words-per-sentence", "acronym", "number-word", "passive-voice",
         "jargon", "common-words", "no-instruction", "sms-segments", "missing-audio",
         "missing-translation")
EASY_READ = "easy_read"
# The scales people with learning disabilities answer; agree5 is for professionals.
EASY_SCALES = ("yes_no", "scale3")
# What a texter is sent is composed for the SMS row's capabilities (its segments).
TEXTED = CHANNELS[ChannelName.SMS].capabilities
# Every way a channel composes a prompt: each way of answering, and each row's own.
WAYS = tuple(dict.fromkeys((*(Capabilities(mode) for mode in AnswerMode),
                            *(row.capabilities for row in CHANNELS.values()))))

# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Profile:
    """Which rules apply to a group of respondents, with their numbers."""

    respondent_types: tuple[str, ...]
    max_words_per_sentence: int
    acronyms: bool
    number_words: bool
    passive_voice: bool
    jargon: bool
    common_words: bool = False


@dataclass(frozen=True)
class Common:
    """One language's common-words rule: a word rarer than ``min_zipf`` (wordfreq's
    Zipf scale: 6 is "the", 3 is once in a million words) is reported, unless allowed."""

    min_zipf: float
    allowed: frozenset[str]


@dataclass(frozen=True)
class Passive:
    """One language's passive-voice heuristic: auxiliary, small words, participle."""

    auxiliaries: frozenset[str]
    between: frozenset[str]
    participle_endings: tuple[str, ...]
    participles: frozenset[str]
    not_passive: frozenset[str]


@dataclass(frozen=True)
class Settings:
    """The checker's numbers and word lists (``checker.yaml``)."""

    profiles: dict[str, Profile]
    allowed_capitals: frozenset[str]
    number_words: dict[str, tuple[str, ...]]
    passive_voice: dict[str, Passive]
    jargon: dict[str, dict[str, str]]
    sms_max_segments: int
    sms_max_by_language: dict[str, int]
    common_words: dict[str, Common] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read ``path``; a missing or mistyped setting is a ContentError naming it."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ContentError(path, f"the checker settings cannot be read: {error}") from None
        try:
            profiles = {
                name: Profile(tuple(p["respondent_types"]), int(p["max_words_per_sentence"]),
                              bool(p["acronyms"]), bool(p["number_words"]),
                              bool(p["passive_voice"]), bool(p["jargon"]),
                              bool(p.get("common_words", False)))
                for name, p in data["profiles"].items()
            }
            passive = {
                lang: Passive(frozenset(p["auxiliaries"]), frozenset(p["between"]),
                              tuple(p["participle_endings"]), frozenset(p["participles"]),
                              frozenset(p["not_passive"]))
                for lang, p in data["passive_voice"].items()
            }
            common = data.get("common_words") or {}
            allowed = common.get("allowed") or {}
            common_words = {
                str(lang): Common(float(zipf), frozenset(
                    str(w).casefold() for w in allowed.get(lang) or ()))
                for lang, zipf in (common.get("min_zipf") or {}).items()}
            return cls(
                profiles=profiles,
                common_words=common_words,
                allowed_capitals=frozenset(map(str, data["allowed_capitals"])),
                number_words={lang: tuple(map(str, words))
                              for lang, words in data["number_words"].items()},
                passive_voice=passive,
                jargon={lang: {str(k): str(v) for k, v in words.items()}
                        for lang, words in data["jargon"].items()},
                sms_max_segments=int(data["sms"]["max_segments"]),
                sms_max_by_language={str(k): int(v) for k, v in
                                     data["sms"].get("max_segments_by_language", {}).items()},
            )
        except KeyError as error:
            raise ContentError(path, f"the checker setting {error} is missing") from None
        except (TypeError, ValueError, AttributeError) as error:
            raise ContentError(path, f"a checker setting has the wrong form: {error}") from None
        if EASY_READ not in profiles:
            raise ContentError(path, f"the checker needs a profile called '{EASY_READ}'")

    def profile_for(self, respondent_type: str) -> str:
        """The profile for a respondent type (easy read when none names it)."""
        return next((name for name, p in self.profiles.items()
                     if respondent_type in p.respondent_types), EASY_READ)


# ---------------------------------------------------------------- counting


@dataclass(frozen=True)
class Problem:
    """One thing to change, printed as ``file:question: rule: suggestion``."""

    file: str
    where: str
    rule: str
    advice: str

    def __str__(self) -> str:
        return f"{self.file}:{self.where}: {self.rule}: {self.advice}"


@dataclass(frozen=True)
class Wording:
    """One respondent-facing text in one language, and where it is written."""

    file: str
    where: str
    language: str
    text: str
    profile: str


_SENTENCE_END = re.compile(r"(?<=[.!?۔؟])\s+|\n+")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_EDGES = re.compile(r"^\W+|\W+$")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (Latin and Urdu full stops and question marks)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def words(sentence: str) -> list[str]:
    """The words of ``sentence``: runs between spaces holding a letter or digit."""
    return [w for w in sentence.split() if any(c.isalnum() for c in w)]


def _tokens(text: str) -> list[str]:
    return [t for t in (_EDGES.sub("", w) for w in text.split()) if t]


def _has(tokens: list[str], phrase: str) -> bool:
    """Does the word sequence ``phrase`` occur in ``tokens`` (case folded)?"""
    return f" {phrase.casefold()} " in f" {' '.join(t.casefold() for t in tokens)} "


def _command_words() -> frozenset[str]:
    return frozenset(word for spellings in COMMANDS.values()
                     for spelling in spellings for word in spelling.split())


# wordfreq counts each form of a word apart, so an English word is also looked up
# without a plain ending: "answered" is as common as "answer".
_EN_ENDINGS = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""),
               ("ed", "e"), ("es", ""), ("s", ""), ("d", ""))
_WORD_PARTS = re.compile(r"[-/]")


def word_frequency(word: str, language: str) -> float:
    """How common ``word`` is in ``language`` on the Zipf scale (0 when unknown)."""
    forms = {word}
    if language == "en":
        forms |= {word[:-len(ending)] + then for ending, then in _EN_ENDINGS
                  if word.endswith(ending) and len(word) > len(ending) + 2}
    return max(zipf_frequency(form, language) for form in forms)


# How each way of answering is named in a problem's advice.
HOW = {AnswerMode.KEYS: "phone keys", AnswerMode.TEXT: "texts",
       AnswerMode.BUTTONS: "buttons (Telegram)", AnswerMode.PAGES: "web pages"}


# ---------------------------------------------------------------- the rules


@dataclass
class Checker:
    """Checks wordings against ``settings``; collects each problem once."""

    settings: Settings
    problems: dict[str, Problem] = field(default_factory=dict)
    sentence_lengths: list[int] = field(default_factory=list)
    # (language, sentence) of every raw wording, so a composed message reports only
    # the sentences composing made.
    written: set[tuple[str, str]] = field(default_factory=set)

    def add(self, file: str, where: str, rule: str, advice: str) -> None:
        problem = Problem(file, where, rule, advice)
        self.problems.setdefault(str(problem), problem)

    def wording(self, item: Wording) -> None:
        """Apply every wording rule of the item's profile to it."""
        profile = self.settings.profiles[item.profile]
        text = _PLACEHOLDER.sub("3", item.text)  # "{total}" is filled in with a number
        note = f"({item.language}) "
        for sentence in sentences(text):
            self.written.add((item.language, sentence))
            count = len(words(sentence))
            self.sentence_lengths.append(count)
            if count > profile.max_words_per_sentence:
                self.add(item.file, item.where, "words-per-sentence",
                         f"{note}{count} words in \"{sentence}\": split it into sentences of "
                         f"{profile.max_words_per_sentence} words or fewer")
        tokens = _tokens(text)
        if profile.acronyms:
            self._acronyms(item, tokens, note)
        if profile.number_words:
            for word in self.settings.number_words.get(item.language, ()):
                if _has(tokens, word):
                    self.add(item.file, item.where, "number-word",
                             f"{note}\"{word}\": write numbers as digits (\"3\", \"8 out of "
                             "10\"), never as words or percentages")
            if "%" in text:
                self.add(item.file, item.where, "number-word",
                         f"{note}a percentage: say \"8 out of 10\" instead")
        if profile.passive_voice and item.language in self.settings.passive_voice:
            self._passive(item, tokens, note)
        if profile.jargon:
            for word, plainer in self.settings.jargon.get(item.language, {}).items():
                if _has(tokens, word):
                    self.add(item.file, item.where, "jargon", f"{note}\"{word}\": {plainer}")
        if profile.common_words and item.language in self.settings.common_words:
            self._common(item, tokens, note)

    def _common(self, item: Wording, tokens: list[str], note: str) -> None:
        rule = self.settings.common_words[item.language]
        known = _command_words() | {w.casefold() for w in self.settings.allowed_capitals}
        for token in tokens:
            for part in _WORD_PARTS.split(token):
                word = _EDGES.sub("", part).casefold()
                if (not any(c.isalpha() for c in word) or any(c.isdigit() for c in word)
                        or word in rule.allowed or word in known):
                    continue
                if word_frequency(word, item.language) < rule.min_zipf:
                    self.add(item.file, item.where, "common-words",
                             f"{note}\"{word}\" is not an everyday word: say it in common "
                             "words (or, if people need it, add it to common_words: allowed "
                             "in checker.yaml)")

    def composed(self, file: str, where: str, prompt: Prompt, mode: AnswerMode,
                 profile: str) -> None:
        """A message as ``mode``'s channels send it: every sentence that composing made
        (a question with its instruction, a phrase with its values) within the length,
        and a question that says how to answer it."""
        limit = self.settings.profiles[profile].max_words_per_sentence
        note = f"({prompt.language}, as {HOW[mode]} say it)"
        for sentence in sentences(prompt_text(prompt)):
            if (prompt.language, sentence) in self.written:
                continue  # checked as written
            count = len(words(sentence))
            if count > limit:
                self.add(file, where, "words-per-sentence",
                         f"{note} {count} words in \"{sentence}\": make the instruction or "
                         f"the answers shorter, {limit} words a sentence or fewer")
        typed_needs_words = mode != AnswerMode.PAGES and not (
            mode == AnswerMode.BUTTONS and prompt.choices)
        if prompt.kind == "ask" and typed_needs_words and not prompt.instruction:
            self.add(file, where, "no-instruction",
                     f"{note} nothing says how to answer: add the phrase that says how "
                     f"for {HOW[mode]}")

    def _acronyms(self, item: Wording, tokens: list[str], note: str) -> None:
        commands = _command_words()
        for token in tokens:
            letters = sum(c.isalpha() for c in token)
            if (letters >= 2 and token.isupper() and token not in self.settings.allowed_capitals
                    and token.casefold() not in commands):
                self.add(item.file, item.where, "acronym",
                         f"{note}\"{token}\": write the words out (\"social worker\", "
                         "not \"SW\")")

    def _passive(self, item: Wording, tokens: list[str], note: str) -> None:
        rule = self.settings.passive_voice[item.language]
        folded = [t.casefold() for t in tokens]
        for start, token in enumerate(folded):
            if token not in rule.auxiliaries:
                continue
            end = start + 1
            while end < len(folded) and end - start <= 2 and folded[end] in rule.between:
                end += 1
            if end >= len(folded) or folded[end] in rule.not_passive:
                continue
            word = folded[end]
            if word in rule.participles or any(
                    word.endswith(ending) and len(word) > len(ending) + 2
                    for ending in rule.participle_endings):
                said = " ".join(tokens[start:end + 1])
                self.add(item.file, item.where, "passive-voice",
                         f"{note}\"{said}\" reads as passive: say who does it (\"We will "
                         "keep your answers safe\")")

    def sms(self, file: str, where: str, language: str, message: str) -> None:
        """A prompt as its text message: within the segments allowed for its language?"""
        limit = self.settings.sms_max_by_language.get(language, self.settings.sms_max_segments)
        segments, encoding, length = sms_segments(message)
        if segments > limit:
            self.add(file, where, "sms-segments",
                     f"({language}) {segments} text messages ({length} {encoding} characters) "
                     f"for one prompt: shorten it to {limit}")


# ---------------------------------------------------------------- the content


def _shown(path: str | Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Content:
    """The surveys being checked, with the shared files they use."""

    surveys: tuple[Survey, ...]
    scales: dict[str, tuple[Option, ...]]
    phrases: dict[str, dict[str, str]]
    scales_file: str
    phrases_file: str

    @classmethod
    def load(cls, path: Path) -> Content:
        """A folder of surveys, or one survey file with the shared files beside it."""
        folder = path if path.is_dir() else path.parent
        scales_path, phrases_path = (shared_file(folder, "scales.yaml"),
                                     shared_file(folder, "phrases.yaml"))
        scales, phrases = load_scales(scales_path), load_phrases(phrases_path)
        if path.is_dir():
            surveys = tuple(load_library(path))
        else:
            surveys = (load_survey(path, scales, phrases),)
        return cls(surveys, scales, phrases, _shown(scales_path), _shown(phrases_path))

    def languages(self, surveys: Iterable[Survey] | None = None) -> list[str]:
        return list(dict.fromkeys(lang for survey in (surveys or self.surveys)
                                  for lang in survey.languages))

    def scale_users(self, scale: str) -> list[Survey]:
        """The surveys that show ``scale``'s answers (consent is always yes/no)."""
        return [s for s in self.surveys
                if scale == "yes_no" or any(q.type == scale for q in s.questions)]

    def wordings(self, settings: Settings) -> Iterator[Wording]:
        """Every respondent-facing text in every language it is written in."""
        for survey in self.surveys:
            file, profile = _shown(survey.source), settings.profile_for(survey.respondent_type)
            texts = [("title", survey.title), (CONSENT, survey.consent)]
            for question in survey.questions:
                texts += [(question.id, question.text), (question.id, question.help)]
                if question.type not in STANDARD_SCALES:
                    texts += [(question.id, o.label) for o in question.options]
            for where, text in texts:
                for language, words_ in text.items():
                    yield Wording(file, where, language, words_, profile)
        for scale, options in self.scales.items():
            if not self.scale_users(scale):
                continue
            profile = EASY_READ if scale in EASY_SCALES else settings.profile_for("professional")
            for option in options:
                for language, words_ in option.label.items():
                    yield Wording(self.scales_file, scale, language, words_, profile)
        for phrase, text in self.phrases.items():
            for language, words_ in text.items():
                yield Wording(self.phrases_file, phrase, language, words_, EASY_READ)

    def file_of(self, survey: Survey, where: str) -> str:
        """The file that holds the wording of ``where`` (a question or a phrase id)."""
        if where in self.phrases and where not in {q.id for q in survey.questions}:
            return self.phrases_file
        return _shown(survey.source)

    def translations(self, checker: Checker) -> None:
        """Every text in every language its survey lists."""
        for survey in self.surveys:
            file = _shown(survey.source)
            texts = [("title", survey.title), (CONSENT, survey.consent)]
            for question in survey.questions:
                texts += [(question.id, question.text)]
                texts += [(question.id, question.help)] if question.help else []
                if question.type not in STANDARD_SCALES:
                    texts += [(question.id, o.label) for o in question.options]
            for where, text in texts:
                for language in survey.languages:
                    if language not in text:
                        checker.add(file, where, "missing-translation",
                                    f"add '{language}' wording (the survey lists '{language}')")
        shared = [(self.scales_file, scale, o.label, self.scale_users(scale))
                  for scale, options in self.scales.items() for o in options]
        shared += [(self.phrases_file, phrase, text, list(self.surveys))
                   for phrase, text in self.phrases.items()]
        for file, where, text, users in shared:
            for language in self.languages(users) if users else ():
                if language not in text:
                    checker.add(file, where, "missing-translation",
                                f"add '{language}' wording (a survey lists '{language}')")


def check(path: str | Path | None = None, settings: Settings | None = None,
          audio_dir: str | Path | None = None) -> tuple[list[Problem], str]:
    """Check the surveys at ``path`` (a folder or one survey file); with ``audio_dir``,
    also that every prompt has its audio. Returns the problems and a summary line."""
    path = content_folder(path)
    try:
        content = Content.load(path)
        folder = path if path.is_dir() else path.parent
        settings = settings or Settings.load(shared_file(folder, CHECKER_FILE))
    except ContentError as error:
        where = error.question or (f"line {error.line}" if error.line else "file")
        return [Problem(_shown(error.file), where, "invalid", error.reason)], "not checked"
    return check_content(content, settings, audio_dir)


def check_content(content: Content, settings: Settings,
                  audio_dir: str | Path | None = None) -> tuple[list[Problem], str]:
    """Check surveys already loaded (``check`` loads them from files; publishing has
    one parsed from an upload). Returns the problems and a summary line."""
    checker = Checker(settings)
    count = 0
    for item in content.wordings(settings):
        checker.wording(item)
        count += 1
    costs: list[str] = []
    for survey in content.surveys:
        profile = settings.profile_for(survey.respondent_type)
        for language in survey.languages:
            for way in WAYS:
                for prompt in every_prompt(survey, language, way):
                    where = prompt.question_id or prompt.phrase
                    checker.composed(content.file_of(survey, where), where, prompt,
                                     way.answers_by, profile if prompt.question_id else EASY_READ)
            for prompt in every_prompt(survey, language, TEXTED):
                where = prompt.question_id or prompt.phrase
                checker.sms(content.file_of(survey, where), where, language, prompt_text(prompt))
        costs.append(f"{survey.id}: " + ", ".join(
            f"{language} {sms_cost(survey, language)}" for language in survey.languages))
    content.translations(checker)
    if audio_dir is not None:
        _check_audio(content, checker, Path(audio_dir))
    lengths = checker.sentence_lengths
    average = sum(lengths) / len(lengths) if lengths else 0.0
    summary = (f"{len(checker.problems)} problems in {count} texts of {len(content.surveys)} "
               f"surveys; {average:.1f} words a sentence on average (aim for 10 or fewer)\n"
               f"SMS segments to text one whole survey ({WAVES[0]}, every question once): "
               + "; ".join(costs))
    return list(checker.problems.values()), summary


def sms_cost(survey: Survey, language: str, wave: str = WAVES[0]) -> int:
    """Text-message segments one person is sent for a whole survey in ``wave``: the
    greeting, consent, thanks, every question (conditional ones too) and the goodbye.
    Urdu and Polish cost more: a Unicode segment holds 70 characters, not 160."""
    asked = {CONSENT, *(q.id for q in survey.for_wave(wave))}
    said: dict[str, Prompt] = {}
    total = 0
    for prompt in every_prompt(survey, language, TEXTED):
        if prompt.kind == "ask" and prompt.question_id in asked:
            total += sms_segments(prompt_text(prompt))[0]
        elif prompt.phrase in ("greeting", "consent_thanks", "closing"):
            said.setdefault(prompt.phrase, prompt)  # consent_thanks: the first wave's
    return total + sum(sms_segments(prompt_text(p))[0] for p in said.values())


def _check_audio(content: Content, checker: Checker, audio_dir: Path) -> None:
    for survey in content.surveys:
        for language in survey.languages:
            for where, text in spoken_items(survey, language):
                for speed in SPEEDS:
                    if find_audio(audio_dir, text, language, speed) is None:
                        checker.add(content.file_of(survey, where), where, "missing-audio",
                                    f"({language}, {speed}) no audio for \"{text}\": run "
                                    "nsw-feedback content audio")

