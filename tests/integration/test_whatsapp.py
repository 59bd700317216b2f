"""WhatsApp through Twilio: signed webhooks in, the approved template out (against the
loopback stand-in), and a WhatsApp STOP that stops every channel. The survey itself runs
through WhatsApp in the channel contract (tests/contract)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.channels.twilio_api import TwilioGateway, TwilioSettings
from bot.channels.twilio_outbound import WhatsAppSender
from bot.service.outreach import Unsubscribed
from storage.models import Invitation
from tests.conftest import PUBLIC_BASE_URL
from web_survey import create_app
from web_survey.bootstrap import WHATSAPP_OFF

from .twilio_fakes import (
    PHONE,
    TEMPLATE_SID,
    WHATSAPP_FROM,
    messages,
    post_signed,
    sid,
    snapshot,
    twiml,
    whatsapp_settings,
)


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(whatsapp_settings(stand_in.url))
    return app_config


def text(client, body, path="/twilio/whatsapp", sender=f"whatsapp:{PHONE}"):
    form = {"MessageSid": sid("SM"), "From": sender, "To": WHATSAPP_FROM, "Body": body}
    return messages(twiml(post_signed(client, path, form)))


def invitations(nsw):
    with nsw.uow() as uow:
        return {i.participant.code: (i.channel, i.status, i.provider_id)
                for i in uow.session.scalars(select(Invitation))}


def test_the_sender_sends_the_approved_template_to_a_whatsapp_address(stand_in):
    settings = TwilioSettings.from_config(whatsapp_settings(stand_in.url))
    sender = WhatsAppSender(TwilioGateway(settings), PUBLIC_BASE_URL, "+447700900998",
                            TEMPLATE_SID)
    message_sid = sender.send_template(PHONE)

    [sent] = stand_in.sent("Messages")
    assert message_sid.startswith("SM")
    assert (sent["To"], sent["From"]) == (f"whatsapp:{PHONE}", WHATSAPP_FROM)
    assert sent["ContentSid"] == TEMPLATE_SID and "Body" not in sent
    assert sent["StatusCallback"] == f"{PUBLIC_BASE_URL}/twilio/status"

    stand_in.unsubscribed.add(PHONE)
    with pytest.raises(Unsubscribed):
        sender.send_template(PHONE)


def test_a_whatsapp_invitation_is_the_template_and_the_reply_starts_the_survey(
        cli, nsw, make_participant, stand_in, client):
    make_participant("CAL-0001")
    make_participant("CAL-0002", phone=None)
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "whatsapp",
                 **whatsapp_settings(stand_in.url))

    assert "CAL-0001\twhatsapp: queued" in result.stdout
    assert "CAL-0002\twhatsapp: no_phone" in result.stdout
    [sent] = stand_in.sent("Messages")
    assert (sent["To"], sent["ContentSid"]) == (f"whatsapp:{PHONE}", TEMPLATE_SID)
    channel, status, message_sid = invitations(nsw)["CAL-0001"]
    assert (channel, status) == ("whatsapp", "queued")

    post_signed(client, "/twilio/status", {"MessageSid": message_sid,
                                           "MessageStatus": "read"})
    assert invitations(nsw)["CAL-0001"][1] == "delivered"
    assert nsw.surveys.phrase("greeting", "en") in text(client, "Hello")[0]


def test_a_whatsapp_stop_opts_the_person_out_of_every_channel(nsw, make_participant, client):
    pid = make_participant("CAL-0001")
    text(client, "Hello")
    text(client, "STOP")
    with nsw.uow() as uow:
        assert uow.repo.participant_by_id(pid).opted_out is True
    refused = text(client, "yes", path="/twilio/sms", sender=PHONE)
    assert nsw.surveys.phrase("already_opted_out", "en") in "\n".join(refused)
    # ...and no invitation reaches them on any channel.
    result_channels = {}
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(pid)
        for name in ("sms", "whatsapp", "voice"):
            invitation = uow.repo.add_invitation(person, "baseline", name)
            result_channels[name] = nsw.outreach.deliver(uow.repo, invitation).status.value
    assert result_channels == {"sms": "opted_out", "whatsapp": "opted_out",
                               "voice": "opted_out"}


def test_an_unsigned_whatsapp_message_is_refused_and_changes_nothing(nsw, make_participant,
                                                                    client):
    make_participant("CAL-0001")
    before = snapshot(nsw)
    response = client.post("/twilio/whatsapp", data={
        "MessageSid": sid("SM"), "From": f"whatsapp:{PHONE}", "To": WHATSAPP_FROM,
        "Body": "STOP"}, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert response.status_code == 403
    assert snapshot(nsw) == before


def test_a_stranger_on_whatsapp_is_told_we_do_not_know_their_number(nsw, client):
    reply = text(client, "Hello", sender="whatsapp:+447700900555")
    assert reply == [nsw.surveys.phrase("unknown_sender", "en")]


def test_without_a_template_whatsapp_is_off_with_one_log_line(app_config, caplog, cli,
                                                              make_participant, stand_in):
    app_config.update(TWILIO_WHATSAPP_TEMPLATE_SID="")
    with caplog.at_level(logging.INFO):
        app = create_app(app_config)
    nsw = app.extensions["nsw"]
    assert not nsw.outreach.sends("whatsapp") and nsw.outreach.sends("sms")
    assert [r.getMessage() for r in caplog.records].count(WHATSAPP_OFF) == 1
    nsw.engine.dispose()

    make_participant("CAL-0001")
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "whatsapp",
                 expect=None, TWILIO_WHATSAPP_TEMPLATE_SID="")
    assert result.exit_code != 0
    assert "TWILIO_WHATSAPP_TEMPLATE_SID" in result.stderr
    assert stand_in.requests == []


def test_the_question_goes_with_its_spoken_audio_where_it_is_rendered(
        app, nsw, make_participant, client):
    from pathlib import Path

    from content.audio import audio_key

    make_participant(phone=PHONE, preferred_channel="whatsapp")
    consent = nsw.surveys.get("individual").consent["en"]
    folder = Path(app.config["AUDIO_DIR"]) / "en"
    folder.mkdir(parents=True, exist_ok=True)
    rendered = folder / f"{audio_key(consent, 'en', 'normal')}.mp3"
    rendered.write_bytes(b"ID3")
    form = {"MessageSid": sid("SM"), "From": f"whatsapp:{PHONE}", "To": WHATSAPP_FROM,
            "Body": "hello"}
    root = twiml(post_signed(client, "/twilio/whatsapp", form))
    last = root.findall("Message")[-1]
    assert last.findtext("Body").startswith(consent)
    assert last.findtext("Media") == f"{PUBLIC_BASE_URL}/audio/en/{rendered.name}"
    # SMS never carries it.
    form.update(MessageSid=sid("SM"), From=PHONE, Body="again")
    assert twiml(post_signed(client, "/twilio/sms", form)).find("Message/Media") is None
