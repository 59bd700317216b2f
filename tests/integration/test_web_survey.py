"""The web survey through Flask's test client: every path and every error."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from content.audio import audio_key
from content.loader import PACKAGE_CONTENT
from tests.helpers import Browser, stored_answers
from web_survey import create_app

STATIC = Path(__file__).parents[2] / "web_survey" / "static"
PAGE_BUDGET = 20 * 1024


@pytest.fixture
def invited(nsw: Any, make_participant: Callable[..., int]) -> Callable[..., tuple[int, str]]:
    """A participant of ``kind`` with a web invitation for ``wave``: (id, token)."""

    def invite(kind: str = "professional", code: str = "CAL-0001", wave: str = "baseline",
               **fields: Any) -> tuple[int, str]:
        pid = make_participant(code, kind, phone=None, **fields)
        with nsw.uow() as uow:
            person = uow.repo.participant_by_id(pid)
            person.current_wave = wave
            invitation = uow.repo.add_invitation(person, wave, "web")
            uow.commit()
            return pid, invitation.token

    return invite


def response_of(nsw: Any, pid: int, wave: str = "baseline") -> SimpleNamespace | None:
    """The stored response's columns, read after the request that wrote them."""
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant_by_id(pid), wave)
        if response is None:
            return None
        return SimpleNamespace(**{c: getattr(response, c) for c in (
            "status", "channel", "who_answered", "completed_at", "updated_at")})


# What the tests read of each stored answer (tests.helpers.stored_answers).
FIELDS = ("status", "value_code", "text", "channel", "who_answered")


# ------------------------------------------------------------- the whole survey


def test_professional_completes_and_answers_are_stored_like_every_channel(client, nsw,
                                                                          invited):
    pid, token = invited("professional")
    page = Browser(client, token).open()
    assert page.status == 200
    assert "Hello. We are the social care team." in page.page
    assert page.h1().startswith("We are evaluating the named social worker pilot.")
    page.choose("Yes")
    assert "There are 7 questions." in page.page
    assert page.h1() == "What is your role?"
    assert "Question 1 of 7" in page.page
    page.choose("Nurse").choose("Yes").choose("Agree").choose("Strongly agree")
    page.choose("Neither").choose("Low")
    assert page.h1() == "Is there anything else you want to tell us?"
    page.post(text="Joint visits helped.", action="continue")

    assert page.h1() == "Check your answers."
    for question, answer in [("What is your role?", "Nurse"),
                             ("Health and social care work well together for this person.",
                              "Neither"), ("Is there anything else you want to tell us?",
                                           "Joint visits helped.")]:
        assert re.search(rf"<dt><span class=\"number\">\d\.</span> {re.escape(question)}</dt>"
                         rf"<dd class=\"answer\">{re.escape(answer)}</dd>",
                         page.page.replace("&#39;", "'"))
    # Each Change button is named by its answer's number, not by the question again.
    changes = re.findall(r'aria-label="([^"]+)">Change</button>', page.page)
    assert changes == [f"Change answer {number}" for number in range(1, 8)]
    assert response_of(nsw, pid).status == "started"

    page.post(action="submit")
    assert page.status == 200
    assert page.h1() == "We have your answers"
    assert "Thank you for your answers." in page.page
    response = response_of(nsw, pid)
    assert (response.status, response.channel, response.who_answered) == (
        "completed", "web", "professional")
    assert response.completed_at is not None
    stored = stored_answers(nsw, pid, *FIELDS)
    assert stored["role"] == ("answered", 1, "", "web", "professional")
    assert stored["joint_working"][1] == 3
    assert stored["comments"] == ("answered", None, "Joint visits helped.", "web",
                                  "professional")
    assert len(stored) == 7


def test_change_from_check_your_answers_shows_the_answer_given_and_returns(client, nsw,
                                                                          invited):
    pid, token = invited("professional")
    page = Browser(client, token).open().choose("Yes").choose("Nurse").choose("No")
    page.choose("Agree").post(action="skip").post(action="skip")
    assert page.h1() == "Check your answers."
    page.post(change="role")
    assert page.h1() == "What is your role?"
    assert re.search(r'value="1" checked>\s*<label[^>]*><span>Nurse', page.page)
    page.choose("Commissioner")
    assert page.h1() == "Check your answers."
    assert stored_answers(nsw, pid, *FIELDS)["role"][1] == 4
    # Changing "do you know the social worker" to yes opens the two questions it hid.
    page.post(change="know_sw").choose("Yes")
    assert page.h1().startswith("The social worker gave")
    page.choose("Agree").choose("Disagree")
    assert page.h1() == "Check your answers."
    page.post(action="submit")
    assert set(stored_answers(nsw, pid)) == {"role", "know_sw", "voice_reviews", "voice_planning",
                                             "joint_working", "admission_risk", "comments"}


def test_declining_ends_kindly_and_records_no_answers(client, nsw, invited):
    pid, token = invited("family")
    page = Browser(client, token).open().choose("No")
    assert page.status == 200
    assert "That is fine. We will not ask you any questions." in page.page
    assert response_of(nsw, pid).status == "declined"
    assert stored_answers(nsw, pid, *FIELDS) == {}


# ------------------------------------------------------------- the error pattern


def test_continue_with_nothing_chosen_shows_the_error_summary(client, nsw, invited):
    pid, token = invited("professional")
    page = Browser(client, token).open().choose("Yes")
    page.post(action="continue")
    assert page.status == 200
    assert page.title().startswith("Error: What is your role?")
    assert '<h2 id="problem">There is a problem</h2>' in page.page
    assert '<a href="#answer">Please give an answer.</a>' in page.page
    assert 'id="answer" name="choice"' in page.page
    assert 'aria-describedby="answer-error"' in page.page
    assert page.h1() == "What is your role?"
    assert stored_answers(nsw, pid, *FIELDS) == {}
    # The error goes once an answer is given.
    page.choose("Nurse")
    assert "There is a problem" not in page.page
    assert not page.title().startswith("Error")


def test_a_page_posted_again_never_changes_another_answer(client, nsw, invited):
    pid, token = invited("professional")
    page = Browser(client, token).open().choose("Yes")
    stale = page.field("question")
    page.choose("Nurse")
    page.client.post(page.url, data={"csrf_token": page.field("csrf_token"),
                                     "question": stale, "choice": "2"})
    page.open()
    assert page.h1() == "Do you know who this person's social worker is?".replace("'", "&#39;")
    assert stored_answers(nsw, pid, *FIELDS)["role"][1] == 1
    assert "know_sw" not in stored_answers(nsw, pid, *FIELDS)


def test_a_form_without_its_csrf_token_is_refused_and_asks_again(client, nsw, invited):
    pid, token = invited("professional")
    page = Browser(client, token).open().choose("Yes")
    response = client.post(page.url, data={"question": "role", "choice": "1"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Sorry, that did not work. Please answer again." in body
    assert "What is your role?" in body
    assert "Traceback" not in body
    assert stored_answers(nsw, pid, *FIELDS) == {}


def test_a_form_without_csrf_on_an_unknown_link_is_the_unknown_link_page(client):
    response = client.post("/s/no-such-token", data={"choice": "1"})
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)


def test_an_https_post_from_the_same_site_passes_the_referrer_check(app, nsw, invited):
    _, token = invited("professional")
    client = app.test_client()
    base = "https://feedback.example.org"
    page = client.get(f"/s/{token}", base_url=base).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    response = client.post(f"/s/{token}", base_url=base, headers={"Referer": f"{base}/s/{token}"},
                           data={"csrf_token": csrf, "question": "consent", "choice": "1"})
    assert response.status_code == 200
    assert "What is your role?" in response.get_data(as_text=True)


# ------------------------------------------------------------- back, skip, resume


def test_back_returns_to_the_previous_question_with_its_answer_chosen(client, invited):
    _, token = invited("professional")
    page = Browser(client, token).open().choose("Yes")
    assert 'value="back"' not in page.page  # nothing before the first question
    page.choose("Doctor or psychiatrist")
    assert 'value="back"' in page.page
    page.post(action="back")
    assert page.h1() == "What is your role?"
    assert re.search(r'value="2" checked>', page.page)


def test_skip_records_skipped_and_says_so(client, nsw, invited):
    pid, token = invited("professional")
    page = Browser(client, token).open()
    assert 'value="skip"' not in page.page  # consent is answered, not skipped
    page.choose("Yes").post(action="skip")
    assert "OK. We will skip that one." in page.page
    assert stored_answers(nsw, pid, *FIELDS)["role"][:2] == ("skipped", None)


def test_closing_the_browser_and_opening_the_link_again_carries_on(app, nsw, invited):
    pid, token = invited("professional")
    Browser(app.test_client(), token).open().choose("Yes").choose("Nurse").choose("Yes")
    later = Browser(app.test_client(), token).open()  # a new browser: no cookies
    assert later.status == 200
    assert "Welcome back. You are on question 3 of 7." in later.page
    assert later.h1().startswith("The social worker gave")
    later.choose("Agree")
    assert stored_answers(nsw, pid, *FIELDS)["voice_reviews"][1] == 4


def test_typed_words_on_the_web_are_the_answer_not_commands(client, nsw, invited):
    pid, token = invited("family")
    page = Browser(client, token).open().choose("Yes")
    for label in ("Yes", "Yes", "Yes", "No", "Easy", "Yes", "Yes", "Happy"):
        page.choose(label)
    assert page.h1() == "What would make things better?"
    assert '<textarea class="input" id="answer" name="text"' in page.page
    page.post(text="help", action="continue")
    assert page.h1() == "Check your answers."
    assert stored_answers(nsw, pid, *FIELDS)["life_better"][:3] == ("answered", None, "help")


# ------------------------------------------------------------- bad links


def test_an_unknown_link_is_a_kind_404(client):
    response = client.get("/s/abcdefghijklmnopqrstuv")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>This link does not work</h1>" in body
    assert "Check you copied all of the link." in body
    assert '<html lang="en" dir="ltr">' in body


def test_a_link_for_a_wave_that_has_moved_on_is_a_kind_410(client, nsw, invited):
    pid, token = invited("professional")
    with nsw.uow() as uow:
        uow.repo.participant_by_id(pid).current_wave = "exit"
        uow.commit()
    response = client.get(f"/s/{token}")
    body = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "<h1>This link is out of date</h1>" in body
    assert "Please call the social care team on 0113 496 0000." in body
    assert client.post(f"/s/{token}", data={"choice": "1"}).status_code == 410
    assert response_of(nsw, pid) is None


@pytest.mark.parametrize(("answer", "said"), [
    ("submit", "You have answered all the questions. Thank you."),
    ("decline", "You said no to the questions. That is fine. Thank you."),
])
def test_a_finished_survey_link_is_a_kind_410(client, nsw, invited, answer, said):
    pid, token = invited("professional")
    page = Browser(client, token).open()
    if answer == "decline":
        page.choose("No")
    else:
        page.choose("Yes")
        for _ in range(7):
            page.post(action="skip")
        page.post(action="submit")
    before = response_of(nsw, pid)
    again = client.get(f"/s/{token}")
    body = again.get_data(as_text=True)
    assert again.status_code == 410
    assert "<h1>You have finished</h1>" in body
    assert said in body
    # Opening a finished survey's link changes nothing about the response.
    after = response_of(nsw, pid)
    assert (after.updated_at, after.status) == (before.updated_at, before.status)


def test_an_opted_out_person_is_told_they_asked_us_to_stop(client, nsw, invited):
    pid, token = invited("individual")
    nsw.conversations.opt_out(pid, True, "test")
    response = client.get(f"/s/{token}")
    assert response.status_code == 410
    assert "You asked us to stop." in response.get_data(as_text=True)


# ------------------------------------------------------------- how pages are built


def test_security_headers_and_no_inline_script(client, invited):
    _, token = invited("individual")
    response = client.get(f"/s/{token}")
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "script-src 'self' 'nonce-" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    body = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, re.S)
    assert scripts and all('src="/static/' in attrs and not code for attrs, code in scripts)
    assert " style=" not in body
    assert body.count('name="csrf_token"') == body.count("<form")


@pytest.mark.parametrize("kind", ["professional", "individual"])
def test_a_question_page_weighs_at_most_20_kb_with_its_css(client, invited, kind):
    _, token = invited(kind)
    page = Browser(client, token).open().choose("Yes")
    html = page.page.encode()
    css = (STATIC / "site.css").read_bytes()
    assert len(html) + len(css) <= PAGE_BUDGET, (len(html), len(css))


def test_urdu_pages_are_right_to_left(client, invited):
    _, token = invited("family", language="ur")
    body = client.get(f"/s/{token}").get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in body
    assert '<html lang="en" dir="ltr">' in client.get("/s/unknown").get_data(as_text=True)


def test_easy_read_shows_pictures_and_professional_mode_does_not(client, invited):
    _, easy = invited("individual", code="CAL-0001")
    _, pro = invited("professional", code="CAL-0002")
    body = Browser(client, easy).open().page
    assert '<body class="easy">' in body
    for picture in ("yes.svg", "no.svg", "not-sure.svg"):
        assert f'<img src="/pictures/{picture}" alt="" width="96" height="96">' in body
    assert "Hide pictures" in body
    pro_body = Browser(client, pro).open().page
    assert "<img" not in pro_body and "Hide pictures" not in pro_body
    assert '<body class="">' in pro_body


def test_pictures_switch_off_and_on_without_javascript(client, nsw, invited):
    pid, token = invited("individual")
    page = Browser(client, token).open()
    page.post(action="pictures")
    assert "<img" not in page.page and "Show pictures" in page.page
    assert page.h1().startswith("We want to ask you about your social worker.")
    page.choose("Yes")
    assert "<img" not in page.page  # stays off on the next question
    page.post(action="pictures")
    assert '<img src="/pictures/me.svg"' in page.page
    assert stored_answers(nsw, pid, *FIELDS) == {}


def test_a_no_pictures_need_hides_pictures_and_the_switch(client, invited):
    _, token = invited("individual", needs="easy-read;no-pictures")
    body = Browser(client, token).open().page
    assert "<img" not in body and "pictures</button>" not in body


def test_a_site_adds_and_replaces_pictures_and_a_question_shows_its_own(
        app_config, tmp_path, make_participant, nsw):
    content = tmp_path / "content"
    shutil.copytree(PACKAGE_CONTENT, content)
    survey = content / "individual.yaml"
    survey.write_text(survey.read_text().replace(
        "    label: Knows who their social worker is\n",
        "    label: Knows who their social worker is\n    picture: our-worker.png\n"))
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "our-worker.png").write_bytes(b"\x89PNG our own")
    (pictures / "yes.svg").write_text("<svg>our yes</svg>")
    app_config.update(CONTENT_DIR=str(content), PICTURES_DIR=str(pictures))
    app = create_app(app_config)
    client = app.test_client()

    def fetch(path: str) -> tuple[int, bytes]:
        with client.get(path) as response:
            return response.status_code, response.get_data()

    assert fetch("/pictures/yes.svg") == (200, b"<svg>our yes</svg>")
    assert fetch("/pictures/no.svg")[1].startswith(b"<svg")  # the shipped one
    assert fetch("/pictures/our-worker.png") == (200, b"\x89PNG our own")
    for bad in ("../site.css", "..%2Fsite.css", "secret.txt", ".hidden.svg"):
        assert fetch(f"/pictures/{bad}")[0] == 404
    services = app.extensions["nsw"]
    pid = make_participant("CAL-0001", "individual", phone=None)
    with services.uow() as uow:
        token = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                        "web").token
        uow.commit()
    page = Browser(client, token).open().choose("Yes").choose("Me with help").choose("Yes")
    assert page.h1() == "Do you know who your social worker is?"
    assert ('<img class="question-picture" src="/pictures/our-worker.png" alt="" width="96" '
            'height="96">') in page.page
    services.engine.dispose()


def test_every_picture_the_content_names_is_drawn():
    named = set(re.findall(r"picture: ([\w.-]+)", "".join(
        p.read_text() for p in PACKAGE_CONTENT.glob("*.yaml"))))
    assert named
    for name in named:
        svg = STATIC / "pictures" / name
        assert svg.is_file(), name
        assert svg.read_text().startswith("<svg")


def render(app_config: dict[str, Any], *texts: str, language: str = "en") -> list[str]:
    """Fake rendered audio for ``texts``; their URLs, in order."""
    folder = Path(app_config["AUDIO_DIR"]) / language
    folder.mkdir(parents=True, exist_ok=True)
    for text in texts:
        (folder / f"{audio_key(text, language)}.mp3").write_bytes(b"ID3")
    return [f"/audio/{language}/{audio_key(text, language)}.mp3" for text in texts]


def listen_parts(body: str) -> list[list[dict[str, str]]]:
    """What each Listen button on the page plays, in order of the page."""
    return [json.loads(html.unescape(found))
            for found in re.findall(r'class="listen[^"]*" data-lang="\w+" data-parts="([^"]*)"',
                                    body)]


def test_one_listen_button_plays_the_question_each_answer_then_help(app_config, client,
                                                                     invited):
    question = "Who is answering these questions?"
    labels = ["Me on my own", "Me with help", "Family or friend", "A worker"]
    help_text = "It is fine to have help. We just want to know who is answering."
    urls = render(app_config, question, *labels, help_text)
    _, token = invited("individual")
    page = Browser(client, token).open().choose("Yes")
    assert page.h1() == question
    big, note, *small = listen_parts(page.page)  # the note "Thank you. ..." has its own
    assert [part["text"] for part in note] == [
        "Thank you. There are 9 questions. There are no right or wrong answers."]
    assert [(part["text"], part["src"]) for part in big] == list(zip(
        [question, *labels, help_text], urls, strict=True))
    # One small Listen button beside each answer, plays that answer only.
    assert [[part["src"] for part in parts] for parts in small] == [[url] for url in urls[1:5]]
    # With no JavaScript each is a plain link to the first file; none plays by itself.
    assert f'<a class="button listen-button" href="{urls[0]}"><svg' in page.page
    assert 'aria-label="Listen: Family or friend"' in page.page
    assert "autoplay" not in page.page and "<audio" not in page.page


def test_with_no_rendered_audio_the_page_says_so_until_a_voice_is_found(client, invited):
    _, token = invited("individual")
    body = Browser(client, token).open().page
    assert re.search(r'<button type="button" class="button listen-button speak" hidden><svg'
                     r".*?</svg><span>Listen</span></button><span class=\"listen-none\">"
                     r"Sorry, this page cannot be read out loud here.</span>", body)
    assert "<a class=\"button listen-button\"" not in body


def test_professional_and_no_audio_pages_have_no_play_buttons(client, invited):
    _, pro = invited("professional", code="CAL-0001")
    _, quiet = invited("individual", code="CAL-0002", needs="no-audio")
    for token in (pro, quiet):
        body = client.get(f"/s/{token}").get_data(as_text=True)
        assert "Listen" not in body and "<audio" not in body and "<script" not in body


# ------------------------------------------------------------- the invite command


def test_invite_prints_web_links_and_inviting_for_exit_opens_that_wave(cli, client, nsw,
                                                                       invited):
    pid, baseline_token = invited("professional")
    result = cli("invite", "--site", "CAL", "--wave", "exit", "--channel", "web")
    code, link = result.stdout.strip().split("\t")
    assert code == "CAL-0001"
    assert re.fullmatch(r"https://feedback\.example\.org/s/[\w-]{22}", link)
    token = link.rsplit("/", 1)[1]

    page = Browser(client, token).open()
    assert page.status == 200
    page.choose("Yes")
    for label in ("Nurse", "Yes", "Agree", "Agree", "Agree"):
        page.choose(label)
    assert page.h1() == "How has joint working changed in the last 6 months?"
    assert client.get(f"/s/{baseline_token}").status_code == 410
    assert response_of(nsw, pid, "exit").status == "started"


def test_invite_dry_run_saves_nothing(cli, client, nsw, make_participant):
    make_participant("CAL-0001", "professional", phone=None)
    result = cli("invite", "--site", "CAL", "--wave", "exit", "--channel", "web", "--dry-run")
    token = result.stdout.split("/s/")[1].split()[0]
    assert client.get(f"/s/{token}").status_code == 404
    with nsw.uow() as uow:
        assert uow.repo.participant("CAL-0001").current_wave == "baseline"


def test_urdu_pages_ask_for_a_nastaliq_font_with_a_fallback(client) -> None:
    served = client.get("/static/site.css")
    css = served.get_data(as_text=True)
    served.close()
    rule = next(line for line in css.splitlines() if line.startswith(":lang(ur)"))
    assert rule.index('"Noto Nastaliq Urdu"') < rule.index('"Noto Naskh Arabic"')
    assert "sans-serif" in rule
