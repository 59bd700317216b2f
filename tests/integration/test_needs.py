"""Each communication need the product accepts changes what that person gets, on every
channel where it can (the staff participant form says which)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bot.engine import Need
from content.audio import audio_key
from storage.enrolment import KNOWN_NEEDS, import_csv
from storage.models import Site
from tests.fake_senders import FakeSender, call_row, text_row
from web_survey.bootstrap import Services
from web_survey.sending import send_wave
from web_survey.staff.forms import NEED_LABELS

CONSENT = "We want to ask you about your social worker. Is it OK to ask you some questions?"


@pytest.fixture
def page_for(nsw: Services, make_participant: Callable[..., int],
             client: FlaskClient) -> Callable[..., str]:
    """The first web page a person with ``needs`` sees."""
    made = iter(range(1, 100))

    def page(kind: str = "individual", needs: str = "") -> str:
        pid = make_participant(f"CAL-{next(made):04d}", kind, phone=None, needs=needs)
        with nsw.uow() as uow:
            token = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                            "web").token
            uow.commit()
        return client.get(f"/s/{token}").get_data(as_text=True)

    return page


def body_class(page: str) -> set[str]:
    found = re.search(r'<body class="([^"]*)">', page)
    return set(found.group(1).split()) if found else set()


def test_every_need_is_accepted_and_the_staff_form_says_what_it_changes_where():
    assert set(KNOWN_NEEDS) == set(Need) and Need.SUPPORTER in KNOWN_NEEDS
    for need in Need:
        assert ":" in NEED_LABELS[need]  # "Large print: bigger text ... on the web page"
    assert "web page" in NEED_LABELS[Need.LARGE_PRINT]
    assert "phone call" in NEED_LABELS[Need.AUDIO_FIRST]
    assert "invitation" in NEED_LABELS[Need.SUPPORTER]


def test_large_print_gives_bigger_text_and_pictures_on_the_web(page_for):
    plain, large = page_for(), page_for(needs="large-print")
    assert body_class(plain) == {"easy"} and body_class(large) == {"easy", "large"}
    css = (Path(__file__).parents[2] / "web_survey" / "static" / "site.css").read_text()
    assert ".large{font-size:1.5rem}" in css
    assert ".large .pictured img,.large .question-picture{width:128px;height:128px}" in css
    # A professional asking for large print gets it too.
    assert "large" in body_class(page_for("professional", "large-print"))


def test_audio_first_puts_the_listen_button_first_and_biggest_on_the_web(page_for):
    page = page_for(needs="audio-first")
    assert "audio-first" in body_class(page)
    main = page[page.index("<main"):]
    assert main.index('class="listen listen-big"') < main.index("<h1>")
    assert main.index('class="listen listen-big"') < main.index("<form")
    # Without the need the Listen button sits in the row above the question, not first.
    plain = page_for()
    assert "audio-first" not in body_class(plain)
    assert plain[plain.index("<main"):].index('<div class="top">') < plain[
        plain.index("<main"):].index('class="listen listen-big"')
    # A professional who listens first gets Listen buttons; other professionals do not.
    assert "Listen" in page_for("professional", "audio-first")
    assert "Listen" not in page_for("professional")


def test_slow_speech_plays_the_slow_recording_on_the_web(page_for, app_config):
    folder = Path(app_config["AUDIO_DIR"]) / "en"
    folder.mkdir(parents=True)
    for speed in ("normal", "slow"):
        (folder / f"{audio_key(CONSENT, 'en', speed)}.mp3").write_bytes(b"ID3")
    slow = f"/audio/en/{audio_key(CONSENT, 'en', 'slow')}.mp3"
    normal = f"/audio/en/{audio_key(CONSENT, 'en')}.mp3"
    assert f'href="{slow}"' in page_for(needs="slow-speech")
    assert f'href="{normal}"' in page_for()


@pytest.fixture
def texts(nsw: Services) -> FakeSender:
    sender = FakeSender()
    nsw.senders["sms"] = text_row(sender)
    nsw.senders["voice"] = call_row(sender)
    return sender


def _invite_by_text(nsw: Services, make_participant: Callable[..., int], needs: str) -> list[str]:
    make_participant("CAL-0001", "individual", needs=needs)
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        assert site is not None
        send_wave(nsw, uow, site, "baseline", "sms", "test")
    return [text for _, text in nsw.senders["sms"].sender.texts]  # type: ignore[union-attr]


def test_audio_first_offers_a_call_in_a_text_invitation(nsw, make_participant, texts):
    sent = _invite_by_text(nsw, make_participant, "audio-first")
    offer = "You can answer on a phone call too. Ask us for a call."
    assert offer in sent
    assert sent.index(offer) == len(sent) - 2  # just before the first question
    assert "Is it OK to ask you some questions?" in sent[-1]


@pytest.mark.parametrize(("needs", "calls"), [("", True), ("audio-first", False)],
                         ids=["no need", "no calls"])
def test_no_call_is_offered_without_the_need_or_when_calls_cannot_be_made(
        nsw, make_participant, texts, needs, calls):
    if not calls:
        del nsw.senders["voice"]
    sent = _invite_by_text(nsw, make_participant, needs)
    assert sent and not any("phone call" in text for text in sent)


def test_a_supporter_is_told_the_invitation_is_for_the_person_they_support(
        nsw, make_participant, texts):
    sent = _invite_by_text(nsw, make_participant, "supporter")
    assert sent[0] == "This survey is for someone you support. Please help them answer."


def test_supporter_is_accepted_at_import(nsw: Services):
    with nsw.uow() as uow:
        site = Site(code="CAL", name="Calderdale")
        uow.session.add(site)
        result = import_csv(uow.repo, site, "code,respondent_type,needs\n"
                                            "CAL-0009,individual,supporter;easy-read\n")
        assert result.errors == [] and result.added == ["CAL-0009"]
        person = uow.repo.participant("CAL-0009")
        assert person is not None and person.need_list == ["supporter", "easy-read"]
