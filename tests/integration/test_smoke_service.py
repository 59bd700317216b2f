from bot.engine import Event


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
