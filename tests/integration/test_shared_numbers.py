"""One phone number (or Telegram chat) at two sites (issue 17, item 8).

Numbers are unique within a site, not across sites, so a site adding a number learns
nothing of another site (the staff forms' test is in staff/test_participants.py). A
message from a number two sites hold answers the site that last reached the person; a
STOP from the number stops it everywhere, as the provider does; erasing one site's
record leaves the other's.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.engine import Event, EventKind
from bot.service.conversations import Sender
from storage.models import AuditEntry, Participant, Response

from .twilio_fakes import messages, post_signed, sid, twilio_settings, twiml

SHARED = "+447700900321"


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(twilio_settings(stand_in.url))
    return app_config


@pytest.fixture
def two(make_participant):
    """CAL-0001 and CAM-0001: one person taking part at two sites, one phone."""
    return (make_participant("CAL-0001", site="CAL", phone=SHARED, preferred_channel="sms"),
            make_participant("CAM-0001", site="CAM", phone=SHARED, preferred_channel="sms"))


def text(client, body):
    form = {"MessageSid": sid("SM"), "From": SHARED, "To": "+447700900999", "Body": body,
            "AccountSid": "AC" + "0" * 32}
    return messages(twiml(post_signed(client, "/twilio/sms", form)))


def answered(nsw):
    """Each code with a response, and whether consent was given in it."""
    with nsw.uow() as uow:
        return dict(uow.session.execute(
            select(Participant.code, Response.consent_given)
            .join(Response, Response.participant_id == Participant.id)).all())


def opted_out(nsw):
    with nsw.uow() as uow:
        return dict(uow.session.execute(
            select(Participant.code, Participant.opted_out).order_by(Participant.code)).all())


def test_a_reply_answers_the_site_that_last_texted_the_person(cli, client, nsw, two,
                                                              stand_in):
    cli("invite", "--site", "CAM", "--wave", "baseline", "--channel", "sms",
        **twilio_settings(stand_in.url))
    assert stand_in.sent("Messages")[-1]["To"] == SHARED
    text(client, "yes")
    assert answered(nsw) == {"CAM-0001": True}

    cli("invite", "--site", "CAL", "--wave", "baseline", "--channel", "sms",
        **twilio_settings(stand_in.url))
    text(client, "yes")
    assert answered(nsw) == {"CAM-0001": True, "CAL-0001": True}


def test_before_either_site_texts_a_message_goes_to_the_record_enrolled_first(
        client, nsw, make_participant):
    make_participant("CAM-0001", site="CAM", phone=SHARED, preferred_channel="sms")
    make_participant("CAL-0001", site="CAL", phone=SHARED, preferred_channel="sms")
    text(client, "Hello")
    assert list(answered(nsw)) == ["CAM-0001"]


def test_stop_from_the_number_stops_it_at_every_site_and_start_starts_it(
        client, nsw, two):
    text(client, "STOP")
    assert opted_out(nsw) == {"CAL-0001": True, "CAM-0001": True}
    with nsw.uow() as uow:
        sites = sorted(uow.session.scalars(select(AuditEntry.site_code).where(
            AuditEntry.action == "opt_out")))
    assert sites == ["CAL", "CAM"]  # each site's own log says what happened to its record
    text(client, "START")
    assert opted_out(nsw) == {"CAL-0001": False, "CAM-0001": False}


def test_staff_recording_one_sites_opt_out_leaves_the_other(nsw, two):
    cal, _ = two
    nsw.conversations.opt_out(cal, True, "lead@calderdale.example")
    assert opted_out(nsw) == {"CAL-0001": True, "CAM-0001": False}


def test_erasing_one_sites_record_leaves_the_others_number(cli, client, nsw, two):
    cli("participant", "erase", "CAL-0001", "--yes")
    with nsw.uow() as uow:
        assert [p.code for p in uow.repo.holders("phone", SHARED)] == ["CAM-0001"]
    text(client, "Hello")
    assert list(answered(nsw)) == ["CAM-0001"]


def test_a_chat_linked_at_a_second_site_stays_linked_at_the_first(nsw, make_participant):
    chat = Sender("telegram", "555001")
    tokens = {}
    for code, site in (("CAL-0001", "CAL"), ("CAM-0001", "CAM")):
        pid = make_participant(code, site=site, phone=None, preferred_channel="telegram")
        with nsw.uow() as uow:
            invitation = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                                 "telegram")
            uow.commit()
            tokens[code] = invitation.token
    nsw.conversations.link_chat(tokens["CAL-0001"], chat, "telegram", None)
    nsw.conversations.link_chat(tokens["CAM-0001"], chat, "telegram", None)
    with nsw.uow() as uow:
        assert [p.code for p in uow.repo.holders("telegram", "555001")] == [
            "CAL-0001", "CAM-0001"]
    # The chat answers the site whose link was opened last, then the other's when opened.
    assert nsw.conversations.handle(chat, "telegram", _yes()).prompts
    assert answered(nsw)["CAM-0001"] is True and answered(nsw)["CAL-0001"] is not True
    nsw.conversations.link_chat(tokens["CAL-0001"], chat, "telegram", None)
    nsw.conversations.handle(chat, "telegram", _yes())
    assert answered(nsw)["CAL-0001"] is True


def _yes():
    return Event(EventKind.TEXT, "yes")
