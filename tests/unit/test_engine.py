"""The pure engine: every event, every question type, re-asking, show_if, waves, decline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channel_table import CHANNELS
from bot.engine import (
    NOT_SURE_CODE,
    AnswerMode,
    Capabilities,
    Event,
    EventKind,
    Progress,
    Prompt,
    Step,
    advance,
    begin,
    every_prompt,
    prompt_text,
    sms_segments,
)
from bot.engine.flow import ask
from content.loader import load_library
from tests.inbound import INBOUND

from .channels import capabilities

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def library():
    return load_library()



class Talk:
    """A person talking to the engine on one channel, keeping what it said."""

    def __init__(self, survey, wave="baseline", channel="sms", language="en", review=False):
        self.survey = survey
        self.progress: Progress = begin(survey, wave, language, channel,
                                        capabilities(channel, review))
        self.recorded: dict[str, object] = {}
        self.last: Step | None = None

    def send(self, kind: str, value: str = "", question: str = "") -> Step:
        step = advance(self.survey, self.progress, Event(kind, value, question))
        self.progress = step.progress
        for answer in step.recorded:
            self.recorded[answer.question_id] = answer
        for question_id in step.withdrawn:
            self.recorded.pop(question_id, None)
        self.last = step
        return step

    def say(self, text: str) -> Step:
        return self.send("text", text)

    @property
    def asking(self) -> str:
        return self.progress.current

    def texts(self) -> list[str]:
        assert self.last is not None
        return [p.text for p in self.last.prompts]


def consented(survey, **kwargs) -> Talk:
    talk = Talk(survey, **kwargs)
    talk.send("start")
    talk.say("yes")
    return talk


def test_start_greets_and_asks_consent_first(library):
    talk = Talk(library.get("individual"))
    step = talk.send("start")
    assert [p.kind for p in step.prompts] == ["say", "ask"]
    assert step.prompts[1].question_id == "consent"
    assert "Is it OK to ask you some questions?" in step.prompts[1].text
    assert step.prompts[1].instruction == "Send a number:\n1 Yes\n2 No\n0 Not sure"


def test_no_to_consent_ends_kindly_and_is_declined(library):
    talk = Talk(library.get("individual"))
    talk.send("start")
    step = talk.say("no")
    assert talk.progress.status == "declined"
    assert step.consent_given is False
    assert step.prompts[-1].text.startswith("That is fine.")
    assert step.recorded == ()
    assert "said no" in talk.say("yes").prompts[0].text


def test_not_sure_about_consent_explains_and_asks_again(library):
    talk = Talk(library.get("individual"))
    talk.send("start")
    step = talk.say("not sure")
    assert talk.progress.status == "consent"
    assert "You choose if you answer" in step.prompts[0].text
    assert step.prompts[1].question_id == "consent"


def test_practice_question_is_not_data(library):
    talk = consented(library.get("individual"))
    assert talk.asking == "who"
    talk.say("1")
    assert talk.asking == "practice"
    step = talk.say("yes")
    assert "practice" not in talk.recorded
    assert step.prompts[0].text == talk.survey.phrase("practice_done", "en")
    assert talk.asking == "know_sw"


@pytest.mark.parametrize(("events", "before"), [
    ([("key", "#")], "skipped"), ([("silence", ""), ("silence", "")], "moving_on")])
def test_no_well_done_for_a_practice_skipped_or_met_with_silence(library, events, before):
    talk = consented(library.get("individual"), channel="voice")
    talk.send("key", "1")
    assert talk.asking == "practice"
    for kind, value in events:
        step = talk.send(kind, value)
    survey = talk.survey
    assert [p.text for p in step.prompts[:2]] == [survey.phrase(before, "en"),
                                                  survey.phrase("practice_over", "en")]
    assert survey.phrase("practice_done", "en") not in talk.texts()
    assert talk.asking == "know_sw" and "practice" not in talk.recorded


def test_the_keys_say_how_to_skip_with_every_question_but_consent(library):
    talk = Talk(library.get("individual"), channel="voice")
    consent = talk.send("start").prompts[-1]
    assert "Hash" not in consent.instruction  # consent cannot be skipped
    who = talk.send("key", "1").prompts[-1]
    assert who.instruction == ("Press 1: Me on my own. Press 2: Me with help. "
                               "Press 3: Family or friend. Press 4: A worker. "
                               "Star: hear again. Hash: skip.")
    assert len(who.instruction.split()) <= 25  # it was 29 words, 10 seconds
    # Beyond the answers' own words, 2 words a key and 5 for star and hash (it was 3 a
    # key and 6 for star alone, with no word on skipping).
    labels = sum(len(choice.label.split()) for choice in who.choices)
    assert len(who.instruction.split()) - labels <= 2 * len(who.choices) + 5


def test_an_open_question_under_buttons_says_how_to_answer_and_a_page_does_not(library):
    survey = library.get("individual")
    for channel, expected in (("telegram", survey.phrase("open_buttons", "en")),
                              ("web", "")):
        talk = Talk(survey, channel=channel)
        talk.progress.status = "in_progress"
        talk.progress.current = "life_better"
        step = talk.send("again")
        assert step.prompts[-1].instruction == expected


@pytest.mark.parametrize("reply", ["1", "one", "Yes", "  YES!! ", "y", "yeah", "👍", "👍🏽",
                                   "Yes please", "ok"])
def test_every_form_of_yes(library, reply):
    talk = consented(library.get("individual"))
    talk.say("me")
    talk.say("no")
    talk.say(reply)
    assert talk.recorded["know_sw"].code == 1


@pytest.mark.parametrize(("reply", "code"), [
    ("2", 2), ("no", 2), ("N", 2), ("nope.", 2), ("👎", 2), ("0", NOT_SURE_CODE),
    ("not sure", NOT_SURE_CODE), ("I don't know", NOT_SURE_CODE), ("🤷", NOT_SURE_CODE),
    ("i am not sure", NOT_SURE_CODE),
])
def test_no_and_not_sure(library, reply, code):
    talk = consented(library.get("individual"))
    talk.say("me")
    talk.say("no")
    talk.say(reply)
    assert talk.recorded["know_sw"].code == code


def test_scale3_by_emoji_word_and_digit(library):
    talk = consented(library.get("individual"))
    for reply in ("me", "no", "yes"):
        talk.say(reply)
    assert talk.asking == "sw_feel"
    talk.say("😀")
    assert (talk.recorded["sw_feel"].code, talk.recorded["sw_feel"].label) == (3, "Happy")


@pytest.mark.parametrize(("reply", "code"), [("not good", 1), ("sad", 1), ("2", 2), ("3", 1),
                                             ("so so", 2)])
def test_scale3_longer_words_win(library, reply, code):
    talk = consented(library.get("individual"))
    for answer in ("me", "no", "yes"):
        talk.say(answer)
    talk.say(reply)
    assert talk.recorded["sw_feel"].code == code


def test_keypad_and_buttons(library):
    talk = consented(library.get("individual"), channel="voice")
    step = talk.send("key", "2")
    assert talk.recorded["who"].code == 2
    assert talk.progress.who_answered == "supported"
    assert "Press 1: Yes." in step.prompts[-1].instruction
    assert "Press 0: Not sure." in step.prompts[-1].instruction
    talk.send("key", "1")
    talk.send("button", "1")
    assert talk.recorded["know_sw"].code == 1


def test_nonsense_is_reasked_twice_then_skip_is_offered(library):
    talk = consented(library.get("individual"))
    first = talk.say("banana")
    assert first.prompts[0].text == "Sorry, I did not understand. Please try again."
    assert first.prompts[1].question_id == "who"
    assert first.prompts[1].error
    second = talk.say("purple")
    assert second.prompts[0].text.startswith("Sorry, I did not understand")
    third = talk.say("???")
    assert "Reply SKIP to skip this question." in third.prompts[0].text
    talk.say("skip")
    assert talk.recorded["who"].status == "skipped"
    assert talk.asking == "practice"


def test_offer_to_skip_speaks_each_channel(library):
    for channel, words in (("voice", "Press hash"), ("web", "press Skip")):
        talk = consented(library.get("individual"), channel=channel)
        for _ in range(3):
            step = talk.send("text", "banana")
        assert words in step.prompts[0].text


def test_again_help_back_and_stop(library):
    survey = library.get("individual")
    talk = consented(survey)
    assert talk.send("again").prompts[0].question_id == "who"
    assert [p.question_id for p in talk.say("repeat").prompts] == ["who"]
    talk.say("me")
    talk.say("yes")
    helped = talk.send("help")
    assert helped.prompts[0].text.startswith("A social worker helps you")
    assert talk.say("back").prompts[-1].question_id == "practice"
    assert talk.asking == "practice"
    talk.say("yes")
    # On a text channel "stop" on its own is the network's opt-out word; "pause" pauses.
    stopped = talk.say("pause")
    assert talk.progress.status == "stopped"
    assert "carry on later" in stopped.prompts[0].text
    resumed = talk.send("start")
    assert resumed.prompts[0].text == "Welcome back. You are on question 2 of 9."
    assert resumed.prompts[1].question_id == "know_sw"


def test_help_without_question_help_uses_channel_help(library):
    talk = consented(library.get("individual"))
    talk.say("me")
    step = talk.send("help")
    assert "Reply AGAIN" in step.prompts[0].text


def test_back_on_first_question_says_so(library):
    talk = consented(library.get("individual"))
    step = talk.send("back")
    assert step.prompts[0].text == "This is the first question."
    assert talk.asking == "who"


def test_back_then_change_an_answer(library):
    talk = consented(library.get("individual"))
    for reply in ("me", "yes", "yes"):
        talk.say(reply)
    talk.send("back")
    assert talk.asking == "know_sw"
    talk.say("no")
    assert talk.recorded["know_sw"].code == 2
    assert talk.asking == "listened", "show_if hides sw_feel once know_sw is no"


def test_show_if_and_withdrawing_an_answer_that_no_longer_applies(library):
    talk = consented(library.get("individual"))
    for reply in ("me", "yes", "yes", "happy"):
        talk.say(reply)
    assert "sw_feel" in talk.recorded
    talk.send("back")
    talk.send("back")
    assert talk.asking == "know_sw"
    step = talk.say("no")
    assert step.withdrawn == ("sw_feel",)
    assert "sw_feel" not in talk.recorded


def test_silence_reasks_once_then_moves_on(library):
    talk = consented(library.get("individual"), channel="voice")
    first = talk.send("silence")
    assert first.prompts[0].text.startswith("I did not hear anything")
    assert talk.asking == "who"
    second = talk.send("silence")
    assert talk.recorded["who"].status == "no_answer"
    assert second.prompts[-1].question_id == "practice"


@pytest.fixture
def visits_survey():
    """A survey with one number question, 0 to 30."""
    return _survey_with("""
      - id: visits
        type: number
        min: 0
        max: 30
        label: Visits
        text: {en: "How many times did you see your social worker?"}
    """)


def test_number_question_and_range(visits_survey):
    survey = visits_survey
    talk = consented(survey)
    step = talk.say("a hundred")
    assert step.prompts[0].text == "Please use a number from 0 to 30."
    talk.say("three")
    assert talk.recorded["visits"].code == 3
    talk2 = consented(survey)
    talk2.say("I saw them 4 times")
    assert talk2.recorded["visits"].code == 4


def test_a_number_too_long_to_read_is_asked_again(visits_survey):
    survey = visits_survey
    talk = consented(survey)
    step = talk.say("7" * 10_240)  # Python refuses to read more than 4,300 digits
    assert step.prompts[0].text == survey.phrase("not_understood", "en")
    assert talk.asking == "visits" and talk.recorded == {}


def test_control_characters_never_reach_what_is_stored(library):
    """NUL and other control bytes (which PostgreSQL cannot store) are dropped from
    what a person sends; what is left is read and kept as usual."""
    talk = consented(library.get("family"))
    talk.say("\x00ye\x07s\ud800")
    assert (talk.recorded["know_sw"].code, talk.recorded["know_sw"].raw) == (1, "yes")
    while talk.asking != "life_better":
        talk.say("1")
    step = talk.say("\x00\x1b\x7f")
    assert step.prompts[0].text == talk.survey.phrase("nothing_given", "en")
    talk.say("More\x00 help\x9b at weekends\nplease")
    assert talk.recorded["life_better"].text == "More help at weekends please"
    assert talk.recorded["life_better"].raw == "More help at weekends\nplease"


def test_open_answer_typed_or_recorded(library):
    talk = consented(library.get("family"))
    while talk.asking != "life_better":
        talk.say("1")
    step = talk.say("More help at weekends")
    assert talk.recorded["life_better"].text == "More help at weekends"
    assert talk.progress.status == "completed"
    assert "Thank you for your answers" in step.prompts[-1].text
    talk = consented(library.get("family"), channel="voice")
    while talk.asking != "life_better":
        talk.send("key", "1")
    talk.send("recording", "RE123")
    assert talk.recorded["life_better"].recording == "RE123"


def test_waves_choose_the_questions(library):
    survey = library.get("individual")
    baseline = {q.id for q in survey.for_wave("baseline")}
    exit_ = {q.id for q in survey.for_wave("exit")}
    assert "keep_sw" in exit_ and "keep_sw" not in baseline
    talk = consented(survey, wave="exit")
    while talk.progress.status == "in_progress":
        talk.say("1")
    assert {"better_now", "keep_sw"} <= set(talk.recorded)
    talk = consented(survey, wave="baseline")
    while talk.progress.status == "in_progress":
        talk.say("1")
    assert "keep_sw" not in talk.recorded


def test_professional_agree_scale(library):
    talk = consented(library.get("professional"))
    assert talk.progress.who_answered == "professional"
    talk.say("nurse")
    talk.say("yes")
    talk.say("strongly agree")
    assert talk.recorded["voice_reviews"].code == 5
    talk.say("disagree")
    assert talk.recorded["voice_planning"].code == 2


def test_a_long_scale_is_texted_by_its_ends_and_every_number_still_counts(library):
    # Listed whole, the 5-point scale makes this Polish text 3 segments (179 characters):
    # the SMS row allows 2, so the scale's two ends and "Not sure" are sent instead.
    talk = consented(library.get("professional"), language="pl")
    talk.say("1")
    step = talk.say("tak")
    asked = step.prompts[-1]
    assert asked.question_id == "voice_reviews"
    assert asked.instruction == "Odpisz 1–5:\n1 Zdecydowanie tak\n5 Zdecydowanie nie\n0 Nie wiem"
    assert sms_segments(prompt_text(asked))[0] == 2
    assert len(asked.choices) == 6, "every answer is still offered, only not listed"
    talk.say("4")  # a point between the ends that were listed
    assert (talk.recorded["voice_reviews"].code, talk.recorded["voice_reviews"].label) == (
        2, "Disagree")
    talk.say("raczej tak")  # and an answer's words
    assert talk.recorded["voice_planning"].code == 4
    talk.say("0")
    assert talk.recorded["joint_working"].code == NOT_SURE_CODE


@pytest.mark.parametrize(("channel", "language"), [
    ("sms", "en"),  # fits 1 segment listed whole
    ("whatsapp", "pl"),  # a WhatsApp message is not split into segments
    ("telegram", "pl"),  # buttons
])
def test_a_scale_that_fits_or_is_not_paid_by_the_segment_is_listed_whole(
        library, channel, language):
    survey = library.get("professional")
    progress = begin(survey, "baseline", language, channel, capabilities(channel))
    asked = ask(survey, progress, "voice_reviews")
    assert "1–5" not in asked.instruction and " to 5" not in asked.instruction
    if channel != "telegram":
        assert asked.instruction.count("\n") == 6  # every answer, a line each


def test_only_a_long_ordered_scale_of_5_points_is_texted_by_its_ends(library):
    survey = library.get("professional")
    long = "Health and social care work well together for this person. " * 3
    tight = Capabilities(AnswerMode.TEXT, max_segments=1)
    progress = begin(survey, "baseline", "en", "sms", tight)
    agree = replace(survey.question("joint_working"), text={"en": long})
    role = replace(survey.question("role"), text={"en": long})
    texted = replace(survey, questions=(agree, role))
    assert ask(texted, progress, "joint_working").instruction == (
        "Reply 1 to 5:\n1 Strongly agree\n5 Strongly disagree\n0 Not sure")
    # A list of roles has no ends: every one is listed, whatever it costs.
    assert ask(texted, progress, "role").instruction.startswith("Send a number:\n1 Nurse\n2 ")
    # Nor does a 3-point scale lose its middle.
    individual = library.get("individual")
    scale3 = next(q for q in individual.questions if q.type == "scale3")
    made_long = replace(individual, questions=(replace(scale3, text={"en": long}),))
    assert ask(made_long, begin(made_long, "baseline", "en", "sms", tight),
               scale3.id).instruction.startswith("Send a number:\n1 Happy\n2 OK\n3 ")


def test_easy_read_texts_list_every_answer(library):
    for survey_id in ("individual", "family"):
        survey = library.get(survey_id)
        for language in survey.languages:
            for prompt in every_prompt(survey, language, capabilities("sms")):
                if prompt.kind == "ask" and prompt.choices:
                    listed = prompt.instruction.count("\n")
                    assert listed == len(prompt.choices), (survey_id, language,
                                                           prompt.question_id)


def test_old_question_never_changes_a_later_answer(library):
    talk = consented(library.get("individual"), channel="telegram")
    talk.send("button", "1", question="who")
    step = talk.send("button", "2", question="who")
    assert "earlier question" in step.prompts[0].text
    assert talk.recorded["who"].code == 1
    assert talk.asking == "practice"


def test_review_change_and_submit(library):
    talk = consented(library.get("professional"), channel="web", review=True)
    while talk.progress.status == "in_progress":
        talk.send("button", "1", question=talk.asking)
    assert talk.progress.status == "review"
    review = talk.last.prompts[-1]
    assert review.kind == "review"
    assert ("know_sw", "Do you know who this person's social worker is?", "Yes") in review.review
    talk.send("change", "know_sw")
    assert talk.asking == "know_sw"
    step = talk.send("button", "2", question="know_sw")
    assert talk.progress.status == "review", "back to the check page, nothing new to answer"
    assert not any(row[0] == "voice_reviews" for row in step.prompts[-1].review)
    done = talk.send("submit")
    assert talk.progress.status == "completed"
    assert "Thank you" in done.prompts[0].text


def test_finished_survey_stays_finished(library):
    talk = consented(library.get("professional"))
    while talk.progress.status == "in_progress":
        talk.say("1")
    assert talk.progress.status == "completed"
    again = talk.send("start")
    assert again.prompts[0].text == "You have answered all the questions. Thank you."
    assert talk.say("2").recorded == ()


def test_progress_round_trips_through_json(library):
    talk = consented(library.get("individual"))
    talk.say("me")
    restored = Progress.from_dict(json.loads(json.dumps(talk.progress.to_dict())))
    assert restored == talk.progress


def test_prompts_round_trip_through_json_without_their_defaults(library):
    talk = Talk(library.get("individual"), channel="web", review=True)
    prompts = [*talk.send("start").prompts, *talk.say("yes").prompts, *talk.say("1").prompts]
    while talk.progress.status == "in_progress":
        prompts.extend(talk.say("1").prompts)
    assert any(p.choices for p in prompts) and any(p.review for p in prompts)
    for prompt in prompts:
        stored = json.loads(json.dumps(prompt.to_dict()))
        assert Prompt.from_dict(stored) == prompt
        assert "" not in stored.values() and "error" not in stored


def test_unknown_event_kind_is_refused():
    with pytest.raises(ValueError, match="not a valid EventKind"):
        Event("shout")


def test_engine_imports_only_the_standard_library():
    code = textwrap.dedent("""
        import sys
        before = set(sys.modules)
        import bot.engine
        new = {m.split(".")[0] for m in set(sys.modules) - before}
        stdlib = set(sys.stdlib_module_names) | {"bot", "_distutils_hack"}
        print(",".join(sorted(new - stdlib)))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == ""


def _survey_with(questions_yaml: str):
    import tempfile

    from content.loader import PACKAGE_CONTENT, load_phrases, load_scales, load_survey

    text = textwrap.dedent("""
        id: custom
        title: {en: "Test"}
        respondent_type: individual
        answered_by: self
        consent: {en: "Is it OK to ask you some questions?"}
        questions:
    """) + textwrap.indent(textwrap.dedent(questions_yaml), "  ")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    return load_survey(Path(handle.name), load_scales(PACKAGE_CONTENT / "scales.yaml"),
                       load_phrases(PACKAGE_CONTENT / "phrases.yaml"))


def test_a_first_message_of_any_kind_greets_and_asks_consent(library):
    talk = Talk(library.get("individual"))
    step = talk.say("hello?")
    assert step.prompts[0].text.startswith("Hello. We are the social care team.")
    assert step.prompts[1].question_id == "consent"
    assert step.recorded == ()


def printable(text: str) -> bool:
    """No control characters (but tab and line breaks) and no lone surrogates."""
    return all(char in "\t\n\r" or unicodedata.category(char) not in ("Cc", "Cs")
               for char in text)


ANY_VALUE = st.one_of(INBOUND, st.sampled_from(["who", "know_sw", "visits", "consent", ""]))


@pytest.fixture(scope="module")
def surveys(library):
    """The shipped surveys, and one with a number question (none of those has one)."""
    numbers = _survey_with("""
      - id: visits
        type: number
        min: 0
        max: 30
        label: Visits
        text: {en: "How many times did you see your social worker?"}
      - id: comments
        type: open
        label: Comments
        text: {en: "Tell us more."}
    """)
    return {**{survey.id: survey for survey in library}, "numbers": numbers}


# Mostly answers (typed, keyed, tapped), with every other event mixed in; the question
# the person saw is unknown (""), the one now asked (None), or anything at all.
ANY_KIND = st.one_of(st.sampled_from(["text", "key", "button"]), st.sampled_from(tuple(EventKind)))
SEEN = st.one_of(st.just(""), st.none(), ANY_VALUE)


@pytest.mark.fault
# The engine is fast, so it is fuzzed harder than the channels.
@settings(max_examples=max(300, settings.default.max_examples))
@given(survey_id=st.sampled_from(["individual", "family", "professional", "numbers"]),
       channel=st.sampled_from(tuple(CHANNELS)), review=st.booleans(), consent=st.booleans(),
       events=st.lists(st.tuples(ANY_KIND, ANY_VALUE, SEEN), max_size=25))
def test_any_events_get_a_reply_and_keep_only_printable_text(surveys, survey_id, channel,
                                                             review, consent, events):
    """Fuzzing: whatever happens, in any order, the engine answers, and what it would
    store is printable text in progress that survives the trip through JSON."""
    talk = Talk(surveys[survey_id], channel=channel, review=review)
    opening = [("start", "", ""), *([("text", "yes", "")] if consent else [])]
    for kind, value, question in [*opening, *events]:
        step = talk.send(kind, value, talk.asking if question is None else question)
        assert step.prompts and all(p.text for p in step.prompts)
        for recorded in step.recorded:
            assert printable(recorded.raw) and printable(recorded.text), recorded
    assert Progress.from_dict(json.loads(json.dumps(talk.progress.to_dict()))) == talk.progress
