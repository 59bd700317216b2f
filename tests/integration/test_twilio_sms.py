"""SMS over Twilio: the real Flask route, requests signed by the real RequestValidator."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from storage.models import Answer, AuditEntry, Participant, Response, utcnow
from tests.conftest import PUBLIC_BASE_URL
from tests.helpers import stored_answers

from .twilio_fakes import (
    PHONE,
    messages,
    post_signed,
    sid,
    sign,
    snapshot,
    twilio_settings,
    twiml,
)

# The individual baseline survey, as one person texts it, and what must be stored.
SCRIPT = ["Hello", "yes", "1", "yes", "1", "happy", "yes", "no", "0", "y", "😐",
          "More time outside"]
STORED = {"who": (1, ""), "know_sw": (1, ""), "sw_feel": (3, ""), "listened": (1, ""),
          "ignored": (2, ""), "decisions": (9, ""), "safe": (1, ""), "home": (2, ""),
          "life_better": (None, "More time outside")}


@pytest.fixture
def app_config(app_config):
    app_config.update(twilio_settings())
    return app_config


def text(client, body, phone=PHONE, message_sid=None, **headers):
    form = {"MessageSid": message_sid or sid("SM"), "From": phone, "To": "+447700900999",
            "Body": body, "AccountSid": "AC" + "0" * 32}
    return post_signed(client, "/twilio/sms", form, headers=headers or None)


def phrase(nsw, phrase_id, **values):
    return nsw.surveys.phrase(phrase_id, "en", **values)


def test_a_whole_survey_by_text_is_stored(client, nsw, make_participant):
    pid = make_participant()
    replies = [messages(twiml(text(client, body))) for body in SCRIPT]

    assert replies[0][0] == phrase(nsw, "greeting")
    assert replies[0][1].startswith("We want to ask you about your social worker.")
    assert replies[0][1].endswith("Reply 1 Yes, 2 No, 0 Not sure")
    assert replies[2][-1].startswith("Here is a practice question.")
    assert replies[-1] == [phrase(nsw, "closing")]
    assert stored_answers(nsw, pid, "value_code", "text") == STORED
    with nsw.uow() as uow:
        response = uow.session.scalar(select(Response))
        assert (response.status, response.channel, response.consent_given) == (
            "completed", "sms", True)
        assert {a.channel for a in response.answers} == {"sms"}


@pytest.mark.parametrize("case", ["forged", "stripped", "replayed", "other_url"])
def test_a_request_without_a_good_signature_is_refused_and_changes_nothing(
        client, nsw, make_participant, case):
    make_participant()
    text(client, "Hello")
    form = {"MessageSid": sid("SM"), "From": PHONE, "To": "+447700900999", "Body": "yes"}
    good = sign(PUBLIC_BASE_URL + "/twilio/sms", form)
    signature = {
        "forged": sign(PUBLIC_BASE_URL + "/twilio/sms", form, token="not-the-token"),
        "stripped": "",
        # A real signature, lifted from another message.
        "replayed": sign(PUBLIC_BASE_URL + "/twilio/sms", {**form, "Body": "no"}),
        "other_url": sign(PUBLIC_BASE_URL + "/twilio/status", form),
    }[case]
    assert signature != good
    before = snapshot(nsw)
    headers = {} if case == "stripped" else {"X-Twilio-Signature": signature}
    response = client.post("/twilio/sms", data=form, headers=headers)

    assert response.status_code == 403
    assert "<Message>" not in response.get_data(as_text=True)
    assert snapshot(nsw) == before


@pytest.mark.parametrize("proxies", ["", "1"])
def test_a_request_signed_for_another_host_is_refused_whatever_it_forwards(
        app_config, proxies, make_participant):
    """Only PUBLIC_BASE_URL is checked: X-Forwarded-* naming another host (for which
    the attacker holds a real signature) changes nothing, behind a proxy or not."""
    from web_survey import create_app

    app_config["TRUSTED_PROXIES"] = proxies
    app = create_app(app_config)
    client, nsw = app.test_client(), app.extensions["nsw"]
    try:
        make_participant()
        before = snapshot(nsw)
        form = {"MessageSid": sid("SM"), "From": PHONE, "Body": "Hello"}
        forged = client.post("/twilio/sms", data=form, headers={
            "X-Twilio-Signature": sign("https://sms.attacker.example/twilio/sms", form),
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.attacker.example",
            "X-Forwarded-For": "203.0.113.9"})
        assert forged.status_code == 403
        assert snapshot(nsw) == before

        # Behind the proxy, a request Twilio signed for PUBLIC_BASE_URL still works,
        # though the proxy reached the app by another name and scheme.
        form["MessageSid"] = sid("SM")
        genuine = client.post("/twilio/sms", data=form, base_url="http://app.internal:8000",
                              headers={"X-Twilio-Signature":
                                       sign(PUBLIC_BASE_URL + "/twilio/sms", form),
                                       "X-Forwarded-Proto": "https",
                                       "X-Forwarded-Host": "app.internal"})
        assert messages(twiml(genuine))[0] == phrase(nsw, "greeting")
    finally:
        nsw.engine.dispose()


@pytest.mark.parametrize("body", ["Hello", "STOP", "START"])
def test_an_unknown_number_gets_one_kind_reply_and_only_an_audit_line(client, nsw, body):
    before = snapshot(nsw)
    reply = messages(twiml(text(client, body, phone="+447700900555")))

    assert reply == [phrase(nsw, "unknown_sender")]
    after = snapshot(nsw)
    changed = {table for table in after if after[table] != before[table]}
    assert changed == {"audit_log"}
    assert len(after["audit_log"]) == 1
    assert "900555" not in repr(after["audit_log"])


def test_stop_and_start_are_said_in_sms_words_and_a_second_stop_changes_nothing(
        client, nsw, make_participant):
    # That STOP opts out, a text then stores nothing and START carries on where they
    # were is the contract's (tests/contract); here, what only SMS has.
    make_participant()
    for body in SCRIPT[:5]:  # up to and including the first real answer
        text(client, body)

    assert messages(twiml(text(client, "STOP"))) == [phrase(nsw, "opted_out_text")]
    assert messages(twiml(text(client, "Stop "))) == [phrase(nsw, "opted_out_text")]
    assert messages(twiml(text(client, "yes"))) == [phrase(nsw, "already_opted_out")]
    with nsw.uow() as uow:
        actions = list(uow.session.scalars(select(AuditEntry.action)))
        assert actions == ["opt_out"]  # the second STOP changed nothing

    reply = messages(twiml(text(client, "start")))
    assert reply[:2] == [phrase(nsw, "opted_in_text"),
                         phrase(nsw, "welcome_back_at", number=3, total=9)]
    assert reply[2].startswith("How do you feel about your social worker?")


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "End", "QUIT", "cancel"])
def test_every_opt_out_keyword_opts_out(client, nsw, make_participant, word):
    pid = make_participant()
    text(client, "Hello")
    assert messages(twiml(text(client, word))) == [phrase(nsw, "opted_out_text")]
    with nsw.uow() as uow:
        assert uow.repo.participant_by_id(pid).opted_out is True


def test_unstop_opts_back_in(client, nsw, make_participant):
    pid = make_participant(opted_out=True)
    reply = messages(twiml(text(client, "UNSTOP")))
    assert reply[:2] == [phrase(nsw, "opted_in_text"), phrase(nsw, "greeting")]
    with nsw.uow() as uow:
        assert uow.repo.participant_by_id(pid).opted_out is False


def test_help_explains_then_asks_the_question_again(client, nsw, make_participant):
    make_participant()
    for body in SCRIPT[:4]:
        text(client, body)
    reply = messages(twiml(text(client, "HELP")))
    assert reply[0] == "A social worker helps you plan your life and your care."
    assert reply[1].startswith("Do you know who your social worker is?")

    text(client, "1")
    reply = messages(twiml(text(client, "help")))
    assert reply[0] == phrase(nsw, "help_text")
    assert reply[1].startswith("How do you feel about your social worker?")


def test_a_text_days_later_carries_on_and_says_where_they_are(client, nsw, make_participant):
    pid = make_participant()
    for body in SCRIPT[:6]:  # answered up to sw_feel; "listened" (question 4) is waiting
        text(client, body)
    with nsw.engine.begin() as connection:
        connection.execute(update(Response).values(updated_at=utcnow() - timedelta(days=3)))

    reply = messages(twiml(text(client, "Hi, sorry I forgot")))
    assert reply[0] == phrase(nsw, "welcome_back_at", number=4, total=9)
    assert reply[1].startswith("Do people listen to you about your care?")
    assert "listened" not in stored_answers(nsw, pid, "value_code", "text")

    text(client, "yes")
    assert stored_answers(nsw, pid, "value_code", "text")["listened"] == (1, "")


def test_a_reply_soon_after_the_last_is_an_answer(client, nsw, make_participant):
    pid = make_participant()
    for body in SCRIPT[:5]:
        text(client, body)
    assert stored_answers(nsw, pid, "value_code", "text") == {"who": (1, ""), "know_sw": (1, "")}


def test_without_twilio_settings_the_routes_answer_503_and_the_app_starts(
        app_config, nsw, client, caplog):
    from web_survey import create_app

    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        app_config[name] = ""
    with caplog.at_level(logging.INFO):
        unconfigured = create_app(app_config)
    lines = [r.getMessage() for r in caplog.records if "TWILIO_AUTH_TOKEN" in r.getMessage()]
    assert len(lines) == 1
    for path in ("/twilio/sms", "/twilio/voice", "/twilio/status"):
        assert unconfigured.test_client().post(path, data={"Body": "hi"}).status_code == 503
    assert "sms" not in unconfigured.extensions["nsw"].senders
    unconfigured.extensions["nsw"].engine.dispose()


def test_an_opted_out_participant_is_never_asked_more(client, nsw, make_participant):
    make_participant(opted_out=True)
    assert messages(twiml(text(client, "Hello"))) == [phrase(nsw, "already_opted_out")]
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Answer)) == 0
        assert uow.session.scalar(select(Participant.opted_out)) is True
