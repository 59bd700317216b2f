from bot.engine import Event
from bot.service import Sender


def test_a_survey_by_words_is_stored(nsw, make_participant):
    pid = make_participant()
    conv = nsw.conversations
    conv.handle(pid, "sms", Event("start"))
    for reply in ["yes", "1", "yes", "yes"]:
        conv.handle(pid, "sms", Event("text", reply))
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(pid)
        response = uow.repo.response(person, "baseline")
        assert {a.question_id: a.value_code for a in response.answers} == {"who": 1, "know_sw": 1}


def test_a_sender_is_found_by_their_number_and_never_shown(nsw, make_participant):
    pid = make_participant(phone="+447700900123")
    sender = Sender("phone", "+447700900123")
    nsw.conversations.handle(sender, "sms", Event("start"))
    nsw.conversations.handle(sender, "sms", Event("text", "yes"))
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant_by_id(pid), "baseline")
        assert response.consent_given is True
    # Logged when two deliveries race: the number stays out of the log.
    assert "900123" not in repr(sender)
