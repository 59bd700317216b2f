"""``nsw-feedback chat --channel sms|voice`` gives the conversation the webhooks give."""

from __future__ import annotations

import pytest

from tests.conftest import PUBLIC_BASE_URL

from .twilio_fakes import messages, post_signed, sid, spoken, twilio_settings, twiml

# Commands, a wrong answer, help, a skip, "back" and STOP, as one person might text them.
SMS_SCRIPT = ["yes", "1", "what", "HELP", "yes", "7", "1", "happy", "skip", "back",
              "yes", "no", "Me and others", "STOP"]
# Keys, "again", a wrong key, skip and two silences (""), ending with the goodbye.
VOICE_SCRIPT = ["1", "1", "*", "1", "7", "1", "", "", "2", "0", "#", "3", "1", "1", "",
                ""]


@pytest.fixture
def app_config(app_config):
    app_config.update(twilio_settings())
    return app_config


def chat(cli, channel, lines):
    result = cli("chat", "--participant", "CAL-0002", "--channel", channel,
                 input="".join(f"{line}\n" for line in lines))
    return [block for block in result.stdout.split("\n\n") if block.strip()]


def test_chat_by_sms_is_the_conversation_the_sms_webhook_has(client, nsw, make_participant,
                                                           cli):
    make_participant("CAL-0001", phone="+447700900001")
    make_participant("CAL-0002", phone="+447700900002")
    by_webhook = []
    for body in ["Hello", *SMS_SCRIPT]:
        form = {"MessageSid": sid("SM"), "From": "+447700900001", "Body": body}
        by_webhook += messages(twiml(post_signed(client, "/twilio/sms", form)))

    by_chat = chat(cli, "sms", SMS_SCRIPT)
    assert by_chat == by_webhook
    assert by_chat[-1] == nsw.surveys.phrase("opted_out_text", "en")


def test_chat_by_voice_is_the_call_the_voice_webhooks_have(client, nsw, make_participant,
                                                           cli):
    make_participant("CAL-0001", phone="+447700900001")
    make_participant("CAL-0002", phone="+447700900002")
    call = {"CallSid": sid("CA"), "From": "+447700900001", "Direction": "inbound"}
    root = twiml(post_signed(client, "/twilio/voice", call))
    heard = spoken(root)
    for line in VOICE_SCRIPT:
        waiting = root.find("Gather")
        if waiting is None:
            waiting = root.find("Record")
        url = (waiting.get("action") if line else root.find("Redirect").text)
        form = {**call, "Digits": line} if line else call
        root = twiml(post_signed(client, url[len(PUBLIC_BASE_URL):], form))
        heard += spoken(root)
    assert root[-1].tag == "Hangup"

    by_chat = chat(cli, "voice", VOICE_SCRIPT)
    chat_heard = [line.removeprefix("🔊 ") for block in by_chat for line in block.split("\n")]
    assert chat_heard == heard
    assert heard[-1] == nsw.surveys.phrase("closing", "en")
