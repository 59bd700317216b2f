"""Each person's own channel (issue 15 item 1): ``invite`` without ``--channel`` invites
everyone on the channel they prefer, through the real ``twilio`` client against the
loopback stand-in, and lists who cannot be reached on theirs and why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.channel_table import CHANNELS
from bot.service.reach import Choice, choose_channel
from storage.models import AuditEntry, Invitation, Participant
from tests.conftest import PUBLIC_BASE_URL

from .twilio_fakes import PHONE, TEMPLATE_SID, whatsapp_settings

BOT = "nsw_feedback_bot"


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(whatsapp_settings(stand_in.url), TELEGRAM_BOT_USERNAME=BOT)
    return app_config


@pytest.fixture
def mixed(make_participant, nsw):
    """A site of people with mixed preferred channels."""
    make_participant("CAL-0001", preferred_channel="sms")
    make_participant("CAL-0002", phone=None, preferred_channel="web")
    make_participant("CAL-0003", phone=None, preferred_channel="voice")
    make_participant("CAL-0004", phone=None, preferred_channel="telegram")
    linked = make_participant("CAL-0005", phone=None, preferred_channel="telegram")
    make_participant("CAL-0006", phone="+447700900006", preferred_channel="sms",
                     opted_out=True)
    make_participant("CAL-0007", phone="+447700900007", preferred_channel="whatsapp")
    make_participant("CAL-0008", phone="+447700900008", preferred_channel="voice")
    with nsw.uow() as uow:
        uow.repo.set_contact(uow.repo.participant_by_id(linked), "telegram", "123456")
        uow.commit()


def invitations(nsw):
    with nsw.uow() as uow:
        return {i.participant.code: (i.channel, i.status) for i in uow.session.scalars(
            select(Invitation).join(Invitation.participant).order_by(Participant.code))}


def lines(output):
    return dict(line.split("\t", 1) for line in output.splitlines() if "\t" in line)


def test_each_person_is_invited_on_their_own_channel(cli, nsw, mixed, stand_in):
    result = cli("invite", "--site", "CAL", "--wave", "baseline",
                 **whatsapp_settings(stand_in.url), TELEGRAM_BOT_USERNAME=BOT)

    shown, listed = lines(result.stdout), lines(result.stderr)
    assert shown["CAL-0001"] == "sms: queued"
    assert shown["CAL-0002"].startswith(f"web: {PUBLIC_BASE_URL}/s/")
    assert shown["CAL-0004"].startswith(f"telegram: https://t.me/{BOT}?start=")
    assert shown["CAL-0005"].startswith(f"telegram: https://t.me/{BOT}?start=")
    assert shown["CAL-0007"] == "whatsapp: queued"
    assert shown["CAL-0008"] == "voice: queued"
    assert listed == {"CAL-0003": "skipped: no phone number for Phone call",
                      "CAL-0006": "skipped: opted out",
                      "CAL-0004": "not linked to Telegram yet: hand them the link"}
    assert invitations(nsw) == {
        "CAL-0001": ("sms", "queued"), "CAL-0002": ("web", "created"),
        "CAL-0004": ("telegram", "created"), "CAL-0005": ("telegram", "created"),
        "CAL-0007": ("whatsapp", "queued"), "CAL-0008": ("voice", "queued")}
    texts = stand_in.sent("Messages")
    assert {m["To"] for m in texts} == {PHONE, "whatsapp:+447700900007"}
    assert [m["ContentSid"] for m in texts if "ContentSid" in m] == [TEMPLATE_SID]
    assert [c["To"] for c in stand_in.sent("Calls")] == ["+447700900008"]
    with nsw.uow() as uow:
        audit = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "invite"))
        assert audit is not None and audit.detail["channel"] == "own"


def test_channel_still_forces_one_for_everyone(cli, nsw, mixed, stand_in):
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "sms",
                 **whatsapp_settings(stand_in.url))
    assert {channel for channel, _ in invitations(nsw).values()} == {"sms"}
    assert lines(result.stdout)["CAL-0003"] == "sms: no_phone"
    assert lines(result.stderr) == {"CAL-0006": "skipped: opted out"}


def test_a_channel_not_set_up_here_is_a_reason_not_an_error(cli, nsw, mixed, stand_in):
    result = cli("invite", "--site", "CAL", "--wave", "baseline", "--dry-run",
                 **{**whatsapp_settings(stand_in.url), "TWILIO_WHATSAPP_TEMPLATE_SID": ""},
                 TELEGRAM_BOT_USERNAME="")
    listed = lines(result.stderr)
    assert listed["CAL-0007"] == "skipped: prefers WhatsApp, which is not set up on this server"
    assert listed["CAL-0004"] == "skipped: prefers Telegram, which is not set up on this server"
    assert lines(result.stdout)["CAL-0001"] == "would be sent by sms"
    assert invitations(nsw) == {} and stand_in.requests == []


class NoContacts:
    def contact_value(self, participant, kind):
        return None


@pytest.mark.parametrize("name", [name for name, row in CHANNELS.items() if row.enrol])
def test_the_rule_reads_the_channel_table(name):
    person = Participant(code="X", preferred_channel=name, opted_out=False)
    choice = choose_channel(person, NoContacts(), lambda channel: True)
    row = CHANNELS[name]
    if not row.contact:
        assert choice == Choice(name)
    elif row.reach.value == "link":
        assert choice.channel == name and "hand them the link" in choice.reason
    else:
        assert choice.channel is None and row.label in choice.reason
    assert choose_channel(person, NoContacts(), lambda channel: True, "web") == Choice("web")
