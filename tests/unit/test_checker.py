"""The easy-read checker: the shipped content passes; each rule catches bad wording."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.engine import AnswerMode, Prompt, every_prompt, prompt_text
from content.checker import (
    EASY_READ,
    TEXTED,
    Checker,
    Settings,
    Wording,
    check,
    sentences,
    sms_cost,
    sms_segments,
    word_frequency,
    words,
)
from content.loader import (
    PACKAGE_CONTENT,
    load_library,
    load_phrases,
    load_scales,
    load_survey,
)
from web_survey.cli import main

BAD_SURVEY = """\
id: bad
title: {en: "Your views"}
respondent_type: individual
answered_by: self
languages: [en, pl]
consent:
  en: "Your answers will be kept safe. Is it OK to ask you 3 questions?"
  pl: "Czy możemy zadać Ci pytania?"
questions:
  - id: long
    type: yes_no
    text:
      en: "Do you think that the people who help you every day at home always listen to
        what you say?"
      pl: "Czy ludzie Cię słuchają?"
  - id: atu
    type: yes_no
    text: {en: "Did you stay in an ATU?", pl: "Czy był szpital?"}
  - id: counted
    type: yes_no
    text: {en: "Did you see your worker three times?", pl: "Czy widziałeś pracownika trzy razy?"}
  - id: percent
    type: yes_no
    text: {en: "Were you happy 50% of the time?", pl: "Czy było dobrze?"}
  - id: hard_word
    type: yes_no
    text: {en: "Did you have an assessment?", pl: "Czy była rozmowa?"}
  - id: untranslated
    type: yes_no
    text: {en: "Do you like your home?"}
    help: {en: "Your home is where you live.", pl: "Dom to miejsce, gdzie mieszkasz."}
  - id: polish_passive
    type: yes_no
    text: {en: "Do you like your food?", pl: "Czy plan został zmieniony?"}
  - id: texts
    type: choice
    text:
      en: "Which of these is the one place you most like to go on a sunny afternoon?"
      pl: "Gdzie lubisz chodzić?"
    options:
      - {code: 1, key: "1", label: {en: "The park near my home with the big trees", pl: "Park"}}
      - {code: 2, key: "2", label: {en: "The shops in the middle of the town", pl: "Sklepy"}}
      - {code: 3, key: "3", label: {en: "The house of a friend or someone in my family", pl: "Dom"}}
"""


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    """A content folder with the shipped shared files and one badly worded survey."""
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "bad.yaml").write_text(BAD_SURVEY, encoding="utf-8")
    return folder


def _lines(path: Path, **options) -> list[str]:
    problems, _ = check(path, **options)
    return [str(p) for p in problems]


def test_the_shipped_content_passes() -> None:
    problems, summary = check(PACKAGE_CONTENT)
    assert problems == []
    assert summary.startswith("0 problems in ")


SHIPPED = Settings.load(PACKAGE_CONTENT / "checker.yaml")


def _checked(text: str, language: str = "en") -> list[str]:
    checker = Checker(SHIPPED)
    checker.wording(Wording("f.yaml", "q", language, text, EASY_READ))
    return [str(p) for p in checker.problems.values()]


@pytest.mark.parametrize("word", ["carer", "ignore", "practice", "keypad", "deleted"])
def test_uncommon_words_are_reported(word: str) -> None:
    lines = _checked(f"We have a {word} for you.")
    assert any(f'"{word}"' in line and (": common-words: " in line or ": jargon: " in line)
               for line in lines), lines


def test_common_words_pass_and_the_allowed_list_is_read() -> None:
    assert _checked("Do you want to start again? We will take away your answers.") == []
    assert _checked("Press hash to skip. Your social worker is here.") == []
    assert word_frequency("answered", "en") == word_frequency("answer", "en")
    # Polish and Urdu words are looked up in their own language.
    assert any('"opiekujesz"' in line for line in _checked("Osoba, którą się opiekujesz.", "pl"))
    assert _checked("کیا آپ خود کو محفوظ محسوس کرتے ہیں؟", "ur") == []


def test_a_long_message_as_a_channel_composes_it_is_reported() -> None:
    """The old text instruction: each word common, each part short, 17 words in all."""
    checker = Checker(SHIPPED)
    prompt = Prompt("ask", "Who is answering these questions?", "en", question_id="who",
                    instruction="Reply 1 Me on my own, 2 Me with help, 3 Family or carer, "
                                "4 A worker", choices=())
    checker.wording(Wording("f.yaml", "who", "en", prompt.text, EASY_READ))
    assert checker.problems == {}
    checker.composed("f.yaml", "who", prompt, AnswerMode.TEXT, EASY_READ)
    (problem,) = checker.problems.values()
    assert problem.rule == "words-per-sentence"
    assert "(en, as texts say it) 17 words in \"Reply 1 Me on my own" in problem.advice


def test_each_channel_composes_the_keys_and_the_instruction_is_checked(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    phrases = (PACKAGE_CONTENT / "phrases.yaml").read_text(encoding="utf-8")
    phrases = phrases.replace('en: "Press {key}: {label}."',
                              'en: "If your answer is {label} then please press the number '
                              '{key} on your phone."')
    (folder / "phrases.yaml").write_text(phrases, encoding="utf-8")
    text = (PACKAGE_CONTENT / "individual.yaml").read_text(encoding="utf-8")
    (folder / "individual.yaml").write_text(text, encoding="utf-8")
    lines = _lines(folder)
    assert any("individual.yaml:who: words-per-sentence: (en, as phone keys say it)" in line
               and '"If your answer is Family or friend then please press' in line
               for line in lines), lines
    # Written, with "{label}" as one word, the phrase itself is short enough.
    assert not any("phrases.yaml:option_keys: words-per-sentence" in line for line in lines)


def test_a_question_with_no_word_on_how_to_answer_is_reported() -> None:
    """As Telegram's open question was: buttons under it, but none to answer with."""
    checker = Checker(SHIPPED)
    prompt = Prompt("ask", "What would make your life better?", "en",
                    question_id="life_better", question_type="open")
    checker.composed("f.yaml", "life_better", prompt, AnswerMode.PAGES, EASY_READ)
    assert checker.problems == {}  # a web page shows its own text box
    checker.composed("f.yaml", "life_better", prompt, AnswerMode.BUTTONS, EASY_READ)
    (problem,) = checker.problems.values()
    assert str(problem) == ("f.yaml:life_better: no-instruction: (en, as buttons (Telegram) "
                            "say it) nothing says how to answer: add the phrase that says how "
                            "for buttons (Telegram)")


def test_sms_cost_per_survey_counts_unicode_segments() -> None:
    individual = load_library().get("individual")
    english, urdu = sms_cost(individual, "en"), sms_cost(individual, "ur")
    # 1 segment a prompt in English: greeting, consent, thanks, 10 questions, goodbye.
    assert english == 14
    assert urdu > english
    _, summary = check(PACKAGE_CONTENT)
    assert ("SMS segments to text one whole survey (baseline, every question once): "
            "family: en ") in summary
    assert f"individual: en {english}, ur {urdu}, pl " in summary


EXAMPLES = sorted((PACKAGE_CONTENT.parent / "examples").glob("*.yaml"))


def test_no_profile_has_segments_of_its_own() -> None:
    """Issue 16: every prompt in Urdu and Polish within 2 segments, for everyone."""
    data = yaml.safe_load((PACKAGE_CONTENT / "checker.yaml").read_text(encoding="utf-8"))
    assert [name for name, profile in data["profiles"].items()
            if "sms_max_segments" in profile] == []
    assert SHIPPED.sms_max_by_language == {"ur": 2, "pl": 2}


def _texted(surveys) -> list[tuple[str, str, str, str]]:
    """(survey, language, where, message) for every prompt the SMS channel sends."""
    return [(survey.id, language, prompt.question_id or prompt.phrase, prompt_text(prompt))
            for survey in surveys for language in survey.languages
            for prompt in every_prompt(survey, language, TEXTED)]


def test_every_shipped_and_example_prompt_texts_within_its_languages_segments() -> None:
    scales = load_scales(PACKAGE_CONTENT / "scales.yaml")
    phrases = load_phrases(PACKAGE_CONTENT / "phrases.yaml")
    surveys = [*load_library(), *(load_survey(path, scales, phrases) for path in EXAMPLES)]
    over = [(survey_id, language, where, sms_segments(message)[0])
            for survey_id, language, where, message in _texted(surveys)
            if sms_segments(message)[0] > SHIPPED.sms_max_by_language.get(
                language, SHIPPED.sms_max_segments)]
    assert over == []
    assert {s.respondent_type for s in surveys} >= {"individual", "family", "professional"}


def test_the_checker_counts_the_agreement_scale_as_texted_by_its_ends() -> None:
    """The engine composes the text; the checker and the cost read that same text."""
    professional = load_library().get("professional")
    texted = {(language, where): message
              for _, language, where, message in _texted([professional])}
    polish = texted[("pl", "voice_reviews")]
    assert polish.endswith("\nOdpisz 1–5:\n1 Zdecydowanie tak\n5 Zdecydowanie nie\n0 Nie wiem")
    assert sms_segments(polish)[0] == 2
    assert "\n3 غیر جانبدار" not in texted[("ur", "voice_reviews")]
    assert "\n3 Neither" in texted[("en", "voice_reviews")]  # it fits listed whole
    # Listed whole, each of the 3 agreement questions would cost a third segment.
    assert sms_cost(professional, "pl") == 21 and sms_cost(professional, "ur") == 18


def test_every_rule_is_caught_on_bad_wording(bad_folder: Path) -> None:
    lines = _lines(bad_folder)
    survey = str(bad_folder / "bad.yaml")

    def has(where: str, rule: str, words_: str = "") -> bool:
        prefix = f"{survey}:{where}: {rule}: "
        return any(line.startswith(prefix) and words_ in line for line in lines)

    assert has("long", "words-per-sentence", "19 words")
    assert has("atu", "acronym", '"ATU"')
    assert has("counted", "number-word", '(en) "three"')
    assert has("counted", "number-word", '(pl) "trzy"')
    assert has("percent", "number-word", "percentage")
    assert has("consent", "passive-voice", '"be kept"')
    assert has("polish_passive", "passive-voice", '"został zmieniony"')
    assert has("hard_word", "jargon", '"assessment"')
    assert has("untranslated", "missing-translation", "add 'pl' wording")
    assert has("title", "missing-translation", "add 'pl' wording")
    assert has("texts", "sms-segments", "(en) 2 text messages")
    # Words a person is meant to read are not mistaken for faults.
    assert not has("consent", "number-word")
    assert not any(":hard_word:" in line and "acronym" in line for line in lines)


def test_the_numbers_are_configurable(bad_folder: Path, tmp_path: Path) -> None:
    text = (PACKAGE_CONTENT / "checker.yaml").read_text(encoding="utf-8")
    strict = text.replace("max_words_per_sentence: 15", "max_words_per_sentence: 5")
    strict = strict.replace("max_segments_by_language: {ur: 2, pl: 2}",
                            "max_segments_by_language: {ur: 1, pl: 1}")
    config = tmp_path / "strict.yaml"
    config.write_text(strict, encoding="utf-8")
    lines = _lines(PACKAGE_CONTENT, settings=Settings.load(config))
    assert any(":consent: words-per-sentence: (en) 9 words" in line for line in lines)
    assert any(": sms-segments: (ur) 2 text messages" in line for line in lines)

    # A checker.yaml beside the surveys is used without being named.
    (bad_folder / "checker.yaml").write_text(
        text.replace("assessment:", "home:"), encoding="utf-8")
    assert any(":untranslated: jargon: (en) \"home\"" in line for line in _lines(bad_folder))


def test_professional_wording_has_its_own_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    for name in ("individual", "professional"):
        text = (PACKAGE_CONTENT / f"{name}.yaml").read_text(encoding="utf-8")
        long = ("Health and social care work well together for this person, and the "
                "named social worker pilot made that easier.")
        text = text.replace("Health and social care work well together for this person.", long)
        text = text.replace("Do you feel safe?", long)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    lines = _lines(folder)
    assert any("individual.yaml:safe: words-per-sentence: (en) 19 words" in ln for ln in lines)
    assert any("individual.yaml:safe: jargon: (en) \"pilot\"" in ln for ln in lines)
    assert not any("professional.yaml:joint_working: words" in ln for ln in lines)


def test_missing_audio_is_reported_only_when_asked(tmp_path: Path) -> None:
    assert not any("missing-audio" in line for line in _lines(PACKAGE_CONTENT))
    lines = _lines(PACKAGE_CONTENT, audio_dir=tmp_path)
    assert any(line.endswith("individual.yaml:know_sw: missing-audio: (ur, slow) no audio for "
                             "\"کیا آپ اپنے سوشل ورکر کو جانتے ہیں؟\": run "
                             "nsw-feedback content audio") for line in lines)
    assert any("phrases.yaml:greeting: missing-audio: (pl, normal)" in line for line in lines)


def test_a_broken_file_is_reported_not_raised(bad_folder: Path) -> None:
    (bad_folder / "bad.yaml").write_text("id: bad\ntitle: [\n", encoding="utf-8")
    lines = _lines(bad_folder)
    assert len(lines) == 1 and ": invalid: not valid YAML" in lines[0]


def test_content_check_command(bad_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTENT_DIR", raising=False)
    runner = CliRunner()
    good = runner.invoke(main, ["content", "check"])
    assert good.exit_code == 0, good.output
    assert "0 problems" in good.output
    assert "SMS segments to text one whole survey" in good.output

    bad = runner.invoke(main, ["content", "check", str(bad_folder)])
    assert bad.exit_code == 1
    assert f"{bad_folder / 'bad.yaml'}:atu: acronym: (en) \"ATU\"" in bad.output

    one = bad_folder / "one.yaml"
    shutil.copy(PACKAGE_CONTENT / "family.yaml", one)
    single = runner.invoke(main, ["content", "check", str(one)])
    assert single.exit_code == 0, single.output


def test_counting() -> None:
    assert sentences("Hello. How are you?\nFine!") == ["Hello.", "How are you?", "Fine!"]
    assert sentences("ہیلو۔ آپ کیسے ہیں؟") == ["ہیلو۔", "آپ کیسے ہیں؟"]
    assert words("Press 1 for Yes — or 0.") == ["Press", "1", "for", "Yes", "or", "0."]
    assert sms_segments("a" * 160) == (1, "GSM-7", 160)
    assert sms_segments("a" * 161) == (2, "GSM-7", 161)
    assert sms_segments("€" * 80) == (1, "GSM-7", 160)  # extension characters cost 2
    assert sms_segments("a" * 69 + "👍") == (2, "UCS-2", 71)  # an emoji costs 2 units
    assert sms_segments("ہ" * 70) == (1, "UCS-2", 70)
    assert sms_segments("ł" * 135) == (3, "UCS-2", 135)
