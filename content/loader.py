"""Load and validate survey YAML into the engine's model.

A mistake in a survey file must stop the app at load with the file, the line, the
question and the reason, never surface later as a confused conversation. Every rule
below is one a site editing its own questions can trip on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.engine.columns import column_clash
from bot.engine.model import (
    DEFAULT_LANGUAGE,
    NOT_SURE_CODE,
    NOT_SURE_RULES,
    QUESTION_TYPES,
    REQUIRED_PHRASES,
    RESPONDENT_TYPES,
    SCORE_RULES,
    SCORED_TYPES,
    SKIPPED_RULES,
    WAVES,
    WHO_ANSWERED,
    Domain,
    Option,
    Question,
    ShowIf,
    Survey,
    localise,
)

PACKAGE_CONTENT = Path(__file__).parent / "easy_read"
SHARED_FILES = ("scales.yaml", "phrases.yaml")
# Phrases said outside a survey's conversation (to unknown senders, on link cards, in
# invitations shaped by a person's needs).
CHANNEL_PHRASES = ("unknown_sender", "card_web", "card_telegram", "card_link",
                   "invite_supporter", "offer_call")
# The easy-read checker's settings may sit beside the surveys; it is not a survey.
CHECKER_FILE = "checker.yaml"
STANDARD_SCALES = ("yes_no", "scale3", "agree5")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_TIMEPOINT = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
_LINE = "__line__"

SURVEY_KEYS = {"id", "title", "respondent_type", "languages", "consent", "questions",
               "answered_by", "domains"}
QUESTION_KEYS = {"id", "type", "text", "label", "help", "options", "waves", "show_if",
                 "practice", "role", "min", "max", "record", "review_if", "picture"}
OPTION_KEYS = {"code", "key", "label", "emoji", "picture", "keywords", "name", "not_sure"}
DOMAIN_KEYS = {"id", "label", "questions", "score", "reverse", "not_sure", "skipped",
               "min_answered"}

class ContentError(ValueError):
    """A survey file is wrong. The message names the file, line, question and reason."""

    def __init__(self, file: str | Path, reason: str, question: str = "", line: int = 0):
        self.file, self.reason, self.question, self.line = str(file), reason, question, line
        where = f"{self.file}:{line}" if line else self.file
        about = f" question '{question}':" if question else ""
        super().__init__(f"{where}:{about} {reason}")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line each mapping starts on."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {sorted(map(str, duplicates))[0]!r} appears twice",
                node.start_mark)
        mapping = super().construct_mapping(node, deep=deep)
        mapping[_LINE] = node.start_mark.line + 1
        return mapping


def read_yaml(path: Path, text: str | None = None) -> Any:
    """Parse ``path`` (or ``text``, named ``path``: a published version kept in the
    database); a syntax error becomes a ContentError with its line."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise ContentError(path, f"not valid YAML: {error.problem or error}", line=line) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(path, f"cannot be read: {error}") from None


@dataclass
class _Context:
    file: Path
    question: str = ""
    line: int = 0

    def fail(self, reason: str) -> ContentError:
        return ContentError(self.file, reason, self.question, self.line)


def _mapping(value: Any, what: str, ctx: _Context) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.fail(f"{what} must be a mapping, not {type(value).__name__}")
    ctx.line = value.get(_LINE, ctx.line)
    return value


def _check_keys(data: dict[str, Any], allowed: set[str], what: str, ctx: _Context) -> None:
    unknown = sorted(str(k) for k in data if k != _LINE and k not in allowed)
    if unknown:
        allowed_list = ", ".join(sorted(allowed))
        raise ctx.fail(f"unknown {what} field '{unknown[0]}' (allowed: {allowed_list})")


def _text(value: Any, what: str, ctx: _Context, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if isinstance(value, str):
        value = {DEFAULT_LANGUAGE: value}
    if not isinstance(value, dict):
        raise ctx.fail(f"{what} must be text per language, like {{en: \"...\"}}")
    text = {k: v for k, v in value.items() if k != _LINE}
    for lang, words in text.items():
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise ctx.fail(f"{what} has '{lang}', which is not a language code like 'en'")
        if not isinstance(words, str) or not words.strip():
            raise ctx.fail(f"{what} in '{lang}' is empty")
    if DEFAULT_LANGUAGE not in text:
        raise ctx.fail(f"{what} has no English ('{DEFAULT_LANGUAGE}') wording")
    return {lang: " ".join(words.split()) for lang, words in text.items()}


def _picture(data: dict[str, Any], ctx: _Context, what: str = "") -> str:
    """A picture's file name (looked up in PICTURES_DIR, then the shipped pictures)."""
    picture = str(data.get("picture", "") or "")
    if "/" in picture or "\\" in picture or picture.startswith("."):
        raise ctx.fail(f"{what}picture must be a file name, not a path")
    return picture


def _options(raw: Any, ctx: _Context, what: str = "options") -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ctx.fail(f"{what} must be a list of at least 2 answers")
    options = []
    for item in raw:
        data = _mapping(item, "each option", ctx)
        _check_keys(data, OPTION_KEYS, "option", ctx)
        code, key = data.get("code"), str(data.get("key", "")).strip()
        if not isinstance(code, int) or isinstance(code, bool):
            raise ctx.fail(f"option code {code!r} must be a whole number")
        if not re.fullmatch(r"[0-9]", key):
            raise ctx.fail(f"option {code} needs a keypad key from 0 to 9, not {key!r}")
        not_sure = bool(data.get("not_sure", False))
        if not_sure != (key == "0"):
            raise ctx.fail(f"option {code}: key 0 is for 'Not sure' and only for it")
        if not_sure and code != NOT_SURE_CODE:
            raise ctx.fail(f"option {code}: 'Not sure' must have code {NOT_SURE_CODE}")
        keywords = data.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str | int) for k in keywords):
            raise ctx.fail(f"option {code}: keywords must be a list of words")
        picture = _picture(data, ctx, f"option {code}: ")
        options.append(Option(
            code=code, key=key, label=_text(data.get("label"), f"option {code} label", ctx),
            emoji=str(data.get("emoji", "")), picture=picture,
            keywords=tuple(str(k) for k in keywords), name=str(data.get("name", "")),
            not_sure=not_sure,
        ))
    for attribute in ("code", "key"):
        values = [getattr(o, attribute) for o in options]
        repeated = {v for v in values if values.count(v) > 1}
        if repeated:
            raise ctx.fail(f"two options share the {attribute} {sorted(repeated)[0]!r}")
    return tuple(options)


def load_scales(path: Path) -> dict[str, tuple[Option, ...]]:
    """The standard answer scales (yes/no, 3-point, 5-point agreement)."""
    data = _mapping(read_yaml(path), "the scales file", _Context(path))
    scales = {}
    for name in STANDARD_SCALES:
        ctx = _Context(path, line=data.get(_LINE, 0))
        if name not in data:
            raise ctx.fail(f"the standard scale '{name}' is missing")
        scales[name] = _options(data[name], ctx, f"the scale '{name}'")
    return scales


def load_phrases(path: Path) -> dict[str, dict[str, str]]:
    """The engine's shared phrases, every one of them required."""
    ctx = _Context(path)
    data = _mapping(read_yaml(path), "the phrases file", ctx)
    missing = [p for p in (*REQUIRED_PHRASES, *CHANNEL_PHRASES) if p not in data]
    if missing:
        raise ctx.fail(f"the phrase '{missing[0]}' is missing")
    return {k: _text(v, f"phrase '{k}'", ctx) for k, v in data.items() if k != _LINE}


def _question(data: Any, survey: dict[str, Any], scales: Mapping[str, tuple[Option, ...]],
              earlier: dict[str, Question], ctx: _Context) -> Question:
    data = _mapping(data, "each question", ctx)
    qid = data.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise ctx.fail(f"question id {qid!r} must be lower-case letters, digits and _")
    ctx.question = qid
    _check_keys(data, QUESTION_KEYS, "question", ctx)
    if qid == "consent":
        raise ctx.fail("the id 'consent' is reserved: write consent wording at the top")
    if qid == "restart":
        raise ctx.fail("the id 'restart' is reserved for the start-again question")
    if qid in earlier:
        raise ctx.fail("this id is used by an earlier question")
    qtype = data.get("type")
    if qtype not in QUESTION_TYPES:
        raise ctx.fail(f"unknown type {qtype!r} (use one of: {', '.join(QUESTION_TYPES)})")
    if qtype == "agree5" and survey["respondent_type"] != "professional":
        raise ctx.fail("agree/disagree scales are for professionals only: ask a direct question")
    if qtype in STANDARD_SCALES:
        if "options" in data:
            raise ctx.fail(f"a {qtype} question uses the standard answers: remove 'options'")
        options = scales[qtype]
    elif qtype == "choice":
        options = _options(data.get("options"), ctx)
    else:
        if "options" in data:
            raise ctx.fail(f"a {qtype} question has no options")
        options = ()
    waves = data.get("waves", [])
    if not isinstance(waves, list) or not all(isinstance(w, str) and _TIMEPOINT.match(w)
                                              for w in waves):
        raise ctx.fail(f"waves must be a list of timepoints such as {list(WAVES)}, "
                       f"not {waves!r}")
    practice, role = bool(data.get("practice", False)), str(data.get("role", ""))
    if practice and qtype not in ("yes_no", "scale3", "choice"):
        raise ctx.fail("a practice question must have answers to choose from")
    if practice and any(q.is_data and not q.role for q in earlier.values()):
        raise ctx.fail("the practice question must come before the real questions")
    if role not in ("", "who_answering"):
        raise ctx.fail(f"unknown role {role!r} (the only role is 'who_answering')")
    if role:
        if qtype != "choice":
            raise ctx.fail("the who-is-answering question must be a choice")
        names = {o.name for o in options if not o.not_sure}
        if not names <= set(WHO_ANSWERED) or len(names) != len(options):
            raise ctx.fail(f"who-is-answering options need a name from {list(WHO_ANSWERED)}")
    show_if = None
    if "show_if" in data:
        rule = _mapping(data["show_if"], "show_if", ctx)
        target, codes = rule.get("question"), rule.get("equals")
        if target not in earlier:
            raise ctx.fail(f"show_if refers to {target!r}, which is not an earlier question")
        if not earlier[target].has_options:
            raise ctx.fail(f"show_if needs a question with answers to choose from, not {target!r}")
        if not isinstance(codes, list) or not codes:
            raise ctx.fail("show_if needs 'equals' with a list of answer codes")
        known = {o.code for o in earlier[target].options}
        if not set(codes) <= known:
            raise ctx.fail(f"show_if codes {codes} are not all answers of '{target}'")
        show_if = ShowIf(target, frozenset(codes))
    minimum, maximum = data.get("min"), data.get("max")
    if qtype == "number":
        for bound in (minimum, maximum):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
                raise ctx.fail("min and max must be whole numbers")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ctx.fail(f"min {minimum} is more than max {maximum}")
    elif minimum is not None or maximum is not None:
        raise ctx.fail("min and max are only for number questions")
    if data.get("record") and qtype != "open":
        raise ctx.fail("only open questions can take a recording")
    review_if = data.get("review_if", [])
    if not isinstance(review_if, list) or not set(review_if) <= {o.code for o in options}:
        raise ctx.fail(f"review_if must list answer codes of this question, not {review_if!r}")
    return Question(
        id=qid, type=qtype, text=_text(data.get("text"), "text", ctx),
        label=str(data.get("label", "")) or qid, help=_text(data.get("help"), "help", ctx, False),
        options=options, waves=frozenset(waves), show_if=show_if, practice=practice,
        role=role, minimum=minimum, maximum=maximum, record=bool(data.get("record", False)),
        review_if=frozenset(review_if), picture=_picture(data, ctx), line=ctx.line,
    )


def _rule(data: dict[str, Any], key: str, rules: tuple[str, ...], default: str | None,
          what: str, ctx: _Context) -> str:
    value = data.get(key, default)
    if value is None:
        raise ctx.fail(f"{what} has no '{key}' (use one of: {', '.join(rules)})")
    if value not in rules:
        raise ctx.fail(f"{what} has an unknown {key} rule {value!r} "
                       f"(use one of: {', '.join(rules)})")
    return str(value)


def _domain(data: Any, questions: Mapping[str, Question], earlier: Mapping[str, Domain],
            ctx: _Context) -> Domain:
    """One scored domain: its questions must be data questions with scored answers."""
    data = _mapping(data, "each domain", ctx)
    did = data.get("id")
    if not isinstance(did, str) or not _ID.match(did):
        raise ctx.fail(f"domain id {did!r} must be lower-case letters, digits and _")
    what = f"domain '{did}'"
    unknown = sorted(str(k) for k in data if k != _LINE and k not in DOMAIN_KEYS)
    if unknown:
        raise ctx.fail(f"{what} has an unknown field '{unknown[0]}' "
                       f"(allowed: {', '.join(sorted(DOMAIN_KEYS))})")
    if did in earlier:
        raise ctx.fail(f"{what}: this id is used by an earlier domain")
    label = _text(data.get("label"), f"{what} label", ctx)
    items = data.get("questions")
    if not isinstance(items, list) or not items or not all(isinstance(q, str) for q in items):
        raise ctx.fail(f"{what} needs 'questions': a list of question ids")
    repeated = sorted({q for q in items if items.count(q) > 1})
    if repeated:
        raise ctx.fail(f"{what} lists the question '{repeated[0]}' twice")
    for qid in items:
        question = questions.get(qid)
        if question is None:
            raise ctx.fail(f"{what}: there is no question '{qid}' in this survey")
        if not question.is_data:
            raise ctx.fail(f"{what}: '{qid}' is the practice question, which is not scored")
        if question.type not in SCORED_TYPES:
            raise ctx.fail(f"{what}: '{qid}' is a {question.type} question; a domain scores "
                           f"only {', '.join(SCORED_TYPES)} questions")
    waves = {questions[qid].waves for qid in items}
    if len(waves) > 1:
        asked = "; ".join(f"{qid}: {' '.join(sorted(questions[qid].waves)) or 'every timepoint'}"
                          for qid in items)
        raise ctx.fail(f"{what}: its questions are not all asked at the same timepoints, so "
                       f"its scores could not be compared ({asked})")
    score = _rule(data, "score", SCORE_RULES, None, what, ctx)
    not_sure = _rule(data, "not_sure", NOT_SURE_RULES, "missing", what, ctx)
    skipped = _rule(data, "skipped", SKIPPED_RULES, "missing", what, ctx)
    reverse = data.get("reverse", [])
    if not isinstance(reverse, list) or not all(isinstance(q, str) for q in reverse):
        raise ctx.fail(f"{what}: reverse must be a list of question ids")
    for qid in reverse:
        if qid not in items:
            raise ctx.fail(f"{what}: the reverse-scored '{qid}' is not one of its questions")
        question = questions[qid]
        if question.type == "number" and (question.minimum is None or question.maximum is None):
            raise ctx.fail(f"{what}: '{qid}' is reverse-scored, so it needs both min and max")
    needed = data.get("min_answered", 0)
    if (not isinstance(needed, int) or isinstance(needed, bool) or not 0 <= needed <= len(items)
            or ("min_answered" in data and needed == 0)):
        raise ctx.fail(f"{what}: min_answered must be a whole number from 1 to {len(items)} "
                       "(the number of its questions)")
    return Domain(id=did, label=label, questions=tuple(items), score=score,
                  reverse=frozenset(reverse), not_sure=not_sure, skipped=skipped,
                  min_answered=needed, line=ctx.line)


def _domains(raw: Any, questions: Mapping[str, Question], ctx: _Context) -> tuple[Domain, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail("domains must be a list of domains")
    domains: dict[str, Domain] = {}
    for item in raw:
        domain = _domain(item, questions, domains, ctx)
        domains[domain.id] = domain
    return tuple(domains.values())


def load_survey(path: Path, scales: Mapping[str, tuple[Option, ...]],
                phrases: Mapping[str, Mapping[str, str]], text: str | None = None) -> Survey:
    """Load one survey file (or its ``text``, kept under the name ``path``), validating
    every field."""
    ctx = _Context(path)
    data = _mapping(read_yaml(path, text), "a survey file", ctx)
    _check_keys(data, SURVEY_KEYS, "survey", ctx)
    for key in ("id", "title", "respondent_type", "consent", "questions"):
        if key not in data:
            raise ctx.fail(f"the survey has no '{key}'")
    if not isinstance(data["id"], str) or not _ID.match(data["id"]):
        raise ctx.fail(f"survey id {data['id']!r} must be lower-case letters, digits and _")
    if data["respondent_type"] not in RESPONDENT_TYPES:
        raise ctx.fail(f"respondent_type must be one of {list(RESPONDENT_TYPES)}")
    answered_by = str(data.get("answered_by", ""))
    if answered_by and answered_by not in WHO_ANSWERED:
        raise ctx.fail(f"answered_by must be one of {list(WHO_ANSWERED)}")
    languages = data.get("languages", [DEFAULT_LANGUAGE])
    if not isinstance(languages, list) or DEFAULT_LANGUAGE not in languages:
        raise ctx.fail("languages must be a list that includes 'en'")
    if not isinstance(data["questions"], list) or not data["questions"]:
        raise ctx.fail("questions must be a non-empty list")
    title, consent = _text(data["title"], "title", ctx), _text(data["consent"], "consent", ctx)
    questions: dict[str, Question] = {}
    for item in data["questions"]:
        question = _question(item, data, scales, questions, ctx)
        questions[question.id] = question
        ctx.question = ""
    who = [q for q in questions.values() if q.role]
    if len(who) > 1:
        raise ContentError(path, "there is more than one who-is-answering question",
                           who[1].id, who[1].line)
    if not who and not answered_by:
        raise ctx.fail("add a who-is-answering question, or say 'answered_by' for the survey")
    # Each timepoint the survey names has questions; a survey that tells baseline and
    # exit apart has questions for both.
    named = set().union(*(q.waves for q in questions.values()))
    for wave in sorted(named | (set(WAVES) if named & set(WAVES) else set())) or ["any"]:
        if not any(q.is_data and (q.asked_at(wave) or wave == "any")
                   for q in questions.values()):
            raise ctx.fail(f"there are no questions for the {wave} wave")
    domains = _domains(data.get("domains"), questions, _Context(path, line=data.get(_LINE, 0)))
    survey = Survey(
        id=data["id"], title=title, respondent_type=data["respondent_type"], consent=consent,
        questions=tuple(questions.values()), phrases=phrases, languages=tuple(languages),
        answered_by=answered_by, source=str(path), yes_no=scales["yes_no"], domains=domains,
    )
    _check_columns(survey, path, [*WAVES, *sorted(named)])
    return survey


def _check_columns(survey: Survey, path: Path, waves: list[str]) -> None:
    """Refuse ids that would give two export columns one name (the exports name their
    columns by ``bot.engine.columns`` too), at the line of the id to change."""
    clash = column_clash(survey, waves)
    if clash is None:
        return
    blamed, reason = clash
    lines = {d.id: d.line for d in survey.domains}
    lines.update({q.id: q.line for q in survey.questions})
    raise ContentError(path, reason, blamed if blamed in lines else "", lines.get(blamed, 0))


@dataclass
class SurveyLibrary:
    """Every survey a deployment can ask, by id."""

    surveys: dict[str, Survey] = field(default_factory=dict)
    directory: Path = PACKAGE_CONTENT
    phrases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    scales: Mapping[str, tuple[Option, ...]] = field(default_factory=dict)

    def parse(self, source: str, name: str) -> Survey:
        """A survey from its YAML ``source`` (a published version), with this library's
        scales and phrases; ContentError names ``name`` and the line when it is wrong."""
        return load_survey(Path(name), self.scales, self.phrases, source)

    def source(self, survey_id: str) -> str:
        """The YAML the deployment's own survey ``survey_id`` was loaded from."""
        return Path(self.get(survey_id).source).read_text(encoding="utf-8")

    def phrase(self, phrase_id: str, language: str, **values: object) -> str:
        """A shared phrase, for channels speaking to someone outside any survey."""
        return localise(self.phrases[phrase_id], language).format(**values)

    def get(self, survey_id: str) -> Survey:
        """The survey with ``survey_id``; KeyError names what exists."""
        try:
            return self.surveys[survey_id]
        except KeyError:
            known = ", ".join(self.surveys)
            raise KeyError(f"no survey {survey_id!r} (there are: {known})") from None

    def for_respondent(self, respondent_type: str) -> Survey:
        """The survey for a respondent type (the one named after it, else the first)."""
        if respondent_type in self.surveys:
            return self.surveys[respondent_type]
        for survey in self.surveys.values():
            if survey.respondent_type == respondent_type:
                return survey
        raise KeyError(f"no survey for {respondent_type} respondents")

    def __iter__(self) -> Iterator[Survey]:
        return iter(self.surveys.values())


def content_folder(directory: str | Path | None = None) -> Path:
    """The survey folder: ``directory``, else ``CONTENT_DIR``, else the shipped one."""
    return Path(directory or os.environ.get("CONTENT_DIR") or PACKAGE_CONTENT)


def shared_file(folder: Path, name: str) -> Path:
    """A shared file (``scales.yaml``, ``phrases.yaml``, ``checker.yaml``) from
    ``folder``, or the shipped one when the folder has none of its own."""
    return folder / name if (folder / name).exists() else PACKAGE_CONTENT / name


def load_library(directory: str | Path | None = None) -> SurveyLibrary:
    """Load every survey in ``directory`` (default: ``CONTENT_DIR`` or the shipped ones)."""
    folder = content_folder(directory)
    scales = load_scales(shared_file(folder, "scales.yaml"))
    phrases = load_phrases(shared_file(folder, "phrases.yaml"))
    library = SurveyLibrary(directory=folder, phrases=phrases, scales=scales)
    for path in sorted(folder.glob("*.yaml")):
        if path.name in (*SHARED_FILES, CHECKER_FILE):
            continue
        survey = load_survey(path, scales, phrases)
        if survey.id in library.surveys:
            raise ContentError(path, f"survey id '{survey.id}' is also used by "
                               f"{library.surveys[survey.id].source}")
        library.surveys[survey.id] = survey
    if not library.surveys:
        raise ContentError(folder, "there are no survey files in this folder")
    return library
