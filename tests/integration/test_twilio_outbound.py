"""Invitations by text and call: the real ``twilio`` client against a loopback stand-in."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException

from bot.channels.twilio_outbound import TwilioSender, error_for
from bot.service.outreach import PermanentFailure, TemporaryFailure, Unsubscribed
from storage.models import AuditEntry, Invitation
from tests.conftest import PUBLIC_BASE_URL
from web_survey import create_app
from web_survey.bootstrap import TWILIO_OFF
from web_survey.cli.common import PROVIDER_LOGGERS, quiet
from web_survey.delivery import deliver

from .twilio_fakes import (
    FROM_NUMBER,
    PHONE,
    messages,
    post_signed,
    sid,
    twiml,
)
from .twilio_fakes import twilio_settings as settings


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(settings(stand_in.url))
    return app_config


@pytest.fixture
def invite(cli, nsw):
    """Run ``nsw-feedback invite`` for site CAL's baseline wave."""

    def run(*args, **config):
        return cli("invite", "--site", "CAL", "--wave", "baseline", *args, expect=None,
                   **config)

    return run


def quiet_now() -> str:
    """Quiet hours from an hour ago to an hour from now, in UK time."""
    now = datetime.now(ZoneInfo("Europe/London"))
    return f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"


def invitations(nsw):
    with nsw.uow() as uow:
        return {i.participant.code: (i.status, i.provider_id)
                for i in uow.session.scalars(select(Invitation))}


def phrase(nsw, phrase_id, **values):
    return nsw.surveys.phrase(phrase_id, "en", **values)


def test_a_text_invitation_opens_the_survey_and_the_reply_answers_it(
        invite, nsw, make_participant, stand_in, client):
    make_participant("CAL-0001")
    make_participant("CAL-0002", phone="+447700900002", opted_out=True)
    make_participant("CAL-0003", phone=None)
    result = invite("--channel", "sms")

    assert result.exit_code == 0, result.output
    assert "CAL-0001\tsms: queued" in result.stdout
    assert "CAL-0003\tsms: no_phone" in result.stdout
    assert "CAL-0002\tskipped: opted out" in result.stderr
    sent = stand_in.sent("Messages")
    assert [m["To"] for m in sent] == [PHONE, PHONE]
    assert {m["From"] for m in sent} == {FROM_NUMBER}
    assert {m["StatusCallback"] for m in sent} == {f"{PUBLIC_BASE_URL}/twilio/status"}
    assert sent[0]["Body"] == phrase(nsw, "greeting")
    assert sent[1]["Body"].endswith("Is it OK to ask you some questions?\n"
                                    "Reply 1 Yes, 2 No, 0 Not sure")
    status, provider_id = invitations(nsw)["CAL-0001"]
    assert status == "queued" and provider_id.startswith("SM")

    form = {"MessageSid": sid("SM"), "From": PHONE, "Body": "yes"}
    reply = messages(twiml(post_signed(client, "/twilio/sms", form)))
    assert reply[0] == phrase(nsw, "consent_thanks", total=9)


def test_nobody_is_texted_in_quiet_hours(invite, nsw, make_participant, stand_in):
    make_participant("CAL-0001")
    result = invite("--channel", "sms", QUIET_HOURS=quiet_now())
    assert result.exit_code == 0, result.output
    assert "CAL-0001\tsms: held" in result.stdout
    assert "quiet hours" in result.stderr
    assert stand_in.requests == []
    assert invitations(nsw)["CAL-0001"] == ("held", "")


def test_nobody_is_called_in_quiet_hours(invite, nsw, make_participant, stand_in):
    make_participant("CAL-0001")
    result = invite("--channel", "voice", QUIET_HOURS=quiet_now())
    assert "CAL-0001\tvoice: held" in result.stdout
    assert stand_in.requests == []


def test_error_21610_means_the_person_opted_out(invite, nsw, make_participant, stand_in):
    pid = make_participant("CAL-0001")
    stand_in.unsubscribed.add(PHONE)
    result = invite("--channel", "sms")
    assert "CAL-0001\tsms: opted_out" in result.stdout
    with nsw.uow() as uow:
        assert uow.repo.participant_by_id(pid).opted_out is True
        assert uow.session.scalar(select(AuditEntry.action).where(
            AuditEntry.action == "opt_out")) == "opt_out"
    assert invite("--channel", "sms").stderr.count("skipped: opted out") == 1
    assert len(stand_in.sent("Messages")) == 1  # the refused one only


def test_a_call_invitation_rings_and_its_status_is_recorded(invite, nsw, make_participant,
                                                            stand_in, client):
    make_participant("CAL-0001")
    result = invite("--channel", "voice")
    assert "CAL-0001\tvoice: queued" in result.stdout
    [call] = stand_in.sent("Calls")
    assert (call["To"], call["From"]) == (PHONE, FROM_NUMBER)
    assert call["Url"] == f"{PUBLIC_BASE_URL}/twilio/voice"
    assert call["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status"
    _, call_sid = invitations(nsw)["CAL-0001"]

    for reported, recorded in [("ringing", "sent"), ("in-progress", "answered"),
                               ("ringing", "answered"), ("completed", "answered")]:
        response = post_signed(client, "/twilio/status",
                               {"CallSid": call_sid, "CallStatus": reported})
        assert response.status_code == 204
        assert invitations(nsw)["CAL-0001"][0] == recorded


def test_an_unanswered_call_is_recorded_as_no_answer(invite, nsw, make_participant, client):
    make_participant("CAL-0001")
    invite("--channel", "voice")
    _, call_sid = invitations(nsw)["CAL-0001"]
    post_signed(client, "/twilio/status", {"CallSid": call_sid, "CallStatus": "no-answer"})
    assert invitations(nsw)["CAL-0001"][0] == "no-answer"


def test_text_statuses_move_forward_and_21610_opts_out(invite, nsw, make_participant, client):
    pid = make_participant("CAL-0001")
    invite("--channel", "sms")
    _, message_sid = invitations(nsw)["CAL-0001"]
    for reported, recorded in [("sent", "sent"), ("delivered", "delivered"),
                               ("sent", "delivered")]:
        post_signed(client, "/twilio/status",
                    {"MessageSid": message_sid, "MessageStatus": reported})
        assert invitations(nsw)["CAL-0001"][0] == recorded

    post_signed(client, "/twilio/status", {"MessageSid": message_sid,
                                           "MessageStatus": "undelivered",
                                           "ErrorCode": "21610"})
    with nsw.uow() as uow:
        assert uow.repo.participant_by_id(pid).opted_out is True


def test_a_forged_status_callback_changes_nothing(invite, nsw, make_participant, client):
    make_participant("CAL-0001")
    invite("--channel", "sms")
    _, message_sid = invitations(nsw)["CAL-0001"]
    response = client.post("/twilio/status", data={"MessageSid": message_sid,
                                                   "MessageStatus": "failed"},
                           headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert response.status_code == 403
    assert invitations(nsw)["CAL-0001"][0] == "queued"


def test_delivery_never_contacts_someone_who_opted_out_since(nsw, make_participant, stand_in):
    pid = make_participant("CAL-0001")
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(pid)
        uow.repo.add_invitation(person, "baseline", "sms")
        uow.commit()
    nsw.conversations.opt_out(pid, True, "test")
    with nsw.uow() as uow:
        invitation = uow.session.scalar(select(Invitation))
        assert deliver(nsw, uow.repo, invitation) == "opted_out"
    assert stand_in.requests == []


def test_without_twilio_settings_invite_says_what_to_set(invite, nsw, make_participant,
                                                        stand_in):
    make_participant("CAL-0001")
    result = invite("--channel", "sms", TWILIO_AUTH_TOKEN="")
    assert result.exit_code != 0
    assert "sms is not configured: set TWILIO_ACCOUNT_SID" in result.stderr
    assert invitations(nsw) == {}


class RefusingGateway:
    """A gateway whose every request Twilio refuses with ``code``, or cannot reach."""

    def __init__(self, code: int | None) -> None:
        self.code = code

    def _refuse(self, *args: object) -> str:
        if self.code is None:
            raise TimeoutError("timed out")
        raise TwilioRestException(400, "https://api.twilio.com/x", f"{PHONE} is wrong",
                                  code=self.code)

    send_sms = call = _refuse


@pytest.mark.parametrize(("code", "error"), [
    (21610, Unsubscribed), (21211, PermanentFailure), (21614, PermanentFailure),
    (20003, TemporaryFailure), (None, TemporaryFailure),
])
def test_twilio_errors_become_outreachs_and_never_quote_the_number(code, error):
    gateway: Any = RefusingGateway(code)  # stands in for TwilioGateway
    twilio = TwilioSender(gateway, PUBLIC_BASE_URL)
    for send in (lambda: twilio.send_text(PHONE, "Hello"), lambda: twilio.call(PHONE)):
        with pytest.raises(error) as raised:
            send()
        assert raised.value.provider == "twilio"
        assert raised.value.code == (str(code) if code else "")
        assert PHONE not in str(raised.value)


def test_delivery_reports_error_codes_mean_the_same():
    assert isinstance(error_for("21610"), Unsubscribed)
    assert isinstance(error_for("30006"), PermanentFailure)
    assert isinstance(error_for("30003"), TemporaryFailure)
    assert error_for("") is None and error_for(None) is None


def test_without_twilio_one_line_says_so_unless_the_command_sends_nothing(app_config, caplog):
    config = {**app_config, "TWILIO_AUTH_TOKEN": ""}
    with caplog.at_level(logging.INFO):
        create_app(config).extensions["nsw"].engine.dispose()
    assert [r.getMessage() for r in caplog.records].count(TWILIO_OFF) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO), quiet(PROVIDER_LOGGERS["twilio"]):
        create_app(config).extensions["nsw"].engine.dispose()
        create_app({**config, "TWILIO_AUTH_TOKEN": "x", "QUIET_HOURS": "8pm"}
                   ).extensions["nsw"].engine.dispose()
    assert TWILIO_OFF not in caplog.text
    assert "SMS and phone invitations are off: QUIET_HOURS '8pm'" in caplog.text
    with caplog.at_level(logging.INFO):
        create_app(app_config).extensions["nsw"].engine.dispose()
    assert caplog.text.count(TWILIO_OFF) == 0  # configured: nothing to say
