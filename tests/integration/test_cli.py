"""The command line: chat, export, site/staff/participant, demo seeding, health."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select

from storage.exports import LONG_COLUMNS
from storage.models import Answer, AuditEntry, Participant, Response, StaffUser
from storage.staff import check_password
from tests.helpers import stored_answers
from web_survey.cli.demo import DEMO_STAFF, demo_staff_password, seed_demo

DIGITS = "1\n1\n1\n1\n1\n1\n1\n1\n1\n1\nA bigger flat\n"
WORDS = "yes\nme on my own\nyes\nyes\nhappy\nyes\nno\nme and others\nyes\nok\nMore trips\n"
EMOJI = "👍\n🙋\n👍\n👍\n😀\n👍\n👎\n🤷\n👍\n😐\nA dog\n"


def test_chat_by_digits_words_and_emoji_completes(cli, nsw):
    for script in (DIGITS, WORDS, EMOJI):
        result = cli("chat", "--survey", "individual", "--wave", "baseline", input=script)
        assert "Thank you for your answers" in result.output
    by_person = stored_answers(nsw)
    assert all(a.is_tryout for person in by_person.values() for a in person.values())
    answers = sorted(({q: a.value for q, a in person.items()} for person in by_person.values()),
                     key=lambda a: str(a["life_better"]))
    assert [a["life_better"] for a in answers] == ["A bigger flat", "A dog", "More trips"]
    assert answers[2]["decisions"] == 2 and answers[2]["ignored"] == 2
    assert answers[1]["decisions"] == 9 and answers[1]["home"] == 2


def test_chat_voice_shows_the_keypad(cli):
    result = cli("chat", "--survey", "individual", "--channel", "voice", input="1\n*\n")
    assert "Press 1: Yes. Press 2: No. Press 0: Not sure." in result.output
    assert result.output.count("Who is answering these questions?") == 2


def test_chat_as_a_participant_counts_and_ends_cleanly_at_end_of_input(cli, nsw,
                                                                      make_participant):
    make_participant(code="CAL-0001")
    result = cli("chat", "--participant", "CAL-0001", input="yes\n1\n")
    assert "End of input" in result.output
    assert stored_answers(nsw, None, "is_tryout") == {"CAL-0001": {"who": False}}
    again = cli("chat", "--participant", "cal-0001", input="")
    assert "Welcome back" in again.output


def test_chat_refuses_an_unknown_survey_or_participant(cli):
    assert "no survey 'nope'" in cli("chat", "--survey", "nope", expect=1).output
    assert "no participant" in cli("chat", "--participant", "X-1", expect=1).output


def test_export_long_is_pseudonymised_streamed_and_audited(cli, nsw, make_participant, tmp_path):
    make_participant(code="CAL-0001", phone="+447700900001")
    make_participant(code="CAM-0002", site="CAM", phone="+447700900002")
    cli("chat", "--participant", "CAL-0001", input=DIGITS)
    cli("chat", "--participant", "CAM-0002", input=DIGITS)
    cli("chat", "--survey", "individual", input=DIGITS)
    result = cli("export", "--site", "CAL", "--format", "long")
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert {r["participant"] for r in rows} == {"CAL-0001"}
    assert {r["question_id"] for r in rows} >= {"who", "know_sw", "life_better"}
    first = rows[0]
    assert (first["site"], first["respondent_type"], first["who_answered"], first["wave"],
            first["channel"]) == ("CAL", "individual", "self", "baseline", "chat")
    know = next(r for r in rows if r["question_id"] == "know_sw")
    assert (know["value_code"], know["value_label"]) == ("1", "Yes")
    assert "7700900001" not in result.output
    out = tmp_path / "cal.csv"
    cli("export", "--site", "CAL", "--wave", "exit", "--out", str(out))
    assert out.read_text(encoding="utf-8-sig").splitlines() == [",".join(LONG_COLUMNS)]
    with nsw.uow() as uow:
        audits = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        assert [(a.site_code, a.detail["wave"]) for a in audits] == [("CAL", "all"),
                                                                    ("CAL", "exit")]


def test_site_staff_and_participant_commands(cli, nsw, tmp_path):
    assert "added site CAL" in cli("site", "add", "cal", "Calderdale").output
    cli("site", "add", "CAL", "Again", expect=1)
    assert "added staff member" in cli("staff", "add", "lead@cal.example", "--site", "CAL",
                                       input="a long password\na long password\n").output
    assert "not the same" in cli("staff", "add", "x@cal.example", "--site", "CAL",
                                 input="a long password\nanother one!!\n", expect=1).output
    cli("participant", "add", "--site", "CAL", "--code", "CAL-0100", "--type", "family",
        "--phone", "07700 900100", "--channel", "sms", "--needs", "easy-read")
    bad = cli("participant", "add", "--site", "CAL", "--code", "CAL-0101", "--type", "family",
              "--phone", "12", expect=1)
    assert "not valid" in bad.output
    sample = tmp_path / "cal.csv"
    sample.write_text("code,respondent_type,cohort,language,phone,preferred_channel,needs\n"
                      "CAL-0001,individual,at-risk,en,+447700900001,web,\n"
                      "CAL-0002,individual,at-risk,en,not-a-phone,sms,\n"
                      ",family,,en,,web,\n")
    failed = cli("participant", "import", str(sample), "--site", "CAL", expect=1)
    assert "row 3: the phone number 'not-a-phone' is not valid" in failed.output
    assert "row 4: the code is missing" in failed.output
    sample.write_text(sample.read_text().splitlines()[0] + "\n"
                      "CAL-0001,individual,at-risk,en,+447700900001,web,\n")
    assert "imported 1 participants" in cli("participant", "import", str(sample),
                                            "--site", "CAL").output
    cli("chat", "--participant", "CAL-0001", input=DIGITS)
    assert "erased CAL-0001" in cli("participant", "erase", "CAL-0001", "--yes").output
    with nsw.uow() as uow:
        codes = set(uow.session.scalars(select(Participant.code)))
        assert codes == {"CAL-0100"}
        assert uow.session.scalar(select(Answer)) is None
        user = uow.session.scalar(select(StaffUser))
        assert user.email == "lead@cal.example" and "long password" not in user.password_hash
        erased = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert erased.detail == {"participant": "CAL-0001"}


def test_invite_web_prints_links_and_exit_opens_the_wave(cli, nsw, make_participant):
    make_participant(code="CAL-0001")
    make_participant(code="CAL-0002", phone="+447700900002", opted_out=True)
    result = cli("invite", "--site", "CAL", "--wave", "exit", "--channel", "web")
    lines = result.output.strip().splitlines()
    assert any(line.startswith("CAL-0001\thttps://feedback.example.org/s/") for line in lines)
    assert "CAL-0002\tskipped: opted out" in result.output
    with nsw.uow() as uow:
        assert uow.repo.participant("CAL-0001").current_wave == "exit"


def test_demo_seed_is_idempotent_and_health_answers(nsw, client):
    with nsw.uow() as uow:
        first = seed_demo(uow.repo)
        password = demo_staff_password(uow.repo)
        uow.commit()
    with nsw.uow() as uow:
        second = demo_staff_password(uow.repo)
        uow.commit()
    with nsw.uow() as uow:
        lead = uow.session.scalar(select(StaffUser).where(StaffUser.email == DEMO_STAFF))
        assert lead.site.code == "DEMO"
        assert check_password(lead, second) and not check_password(lead, password)
    with nsw.uow() as uow:
        assert seed_demo(uow.repo) == first
    assert {kind for _, kind, _ in first} == {"individual", "family", "professional"}
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_a_database_that_does_not_answer(app_config, tmp_path):
    from web_survey import create_app

    app_config["DATABASE_URL"] = f"sqlite:///{tmp_path}/missing/dir/db.sqlite"
    response = create_app(app_config).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def _recorded(nsw, pid, names):
    """Give participant ``pid`` a response whose answers hold the recordings ``names``."""
    with nsw.uow() as uow:
        response = Response(participant_id=pid, wave="baseline", survey_id="individual")
        uow.session.add(response)
        uow.session.flush()
        uow.session.add_all(Answer(response_id=response.id, question_id=f"q{at}",
                                   recording=name, channel="voice")
                            for at, name in enumerate(names))
        uow.commit()


def test_erase_deletes_every_recording_in_every_folder_and_at_twilio(
        cli, nsw, make_participant, app_config, monkeypatch, tmp_path):
    from tests.integration.twilio_fakes import StandIn, sid, twilio_settings

    folder = Path(app_config["RECORDINGS_DIR"])
    (folder / "telegram").mkdir(parents=True)
    phone, voice_note = f"{sid('RE')}.mp3", "telegram/7001-42.ogg"
    others = [folder / "telegram" / "7001-43.ogg", folder / f"{sid('RE')}.mp3",
              tmp_path / "outside.ogg"]
    for path in [folder / phone, folder / voice_note, *others]:
        path.write_bytes(b"OggS")
    held, kept = sid("RE"), sid("RE")
    stand_in = StandIn(recordings={held: b"ID3", kept: b"ID3"})
    server = stand_in.start()
    try:
        pid = make_participant("CAL-0001")
        _recorded(nsw, pid, [phone, voice_note, f"twilio:{held}", "../outside.ogg"])
        result = cli("participant", "erase", "CAL-0001", "--yes", expect=1,
                     **twilio_settings(stand_in.url))
    finally:
        server.shutdown()
        server.server_close()
    # The one name that points outside the folder is refused and reported, nothing else.
    assert result.exit_code == 1
    assert "erased CAL-0001" in result.output
    assert "could not be deleted" in result.output and "../outside.ogg" in result.output
    assert not (folder / phone).exists()
    assert not (folder / voice_note).exists()
    assert all(path.exists() for path in others)
    assert stand_in.deleted() == [held] and set(stand_in.recordings) == {kept}
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Answer)) is None


def test_erase_without_twilio_says_which_recording_is_still_there(
        cli, nsw, make_participant, app_config):
    folder = Path(app_config["RECORDINGS_DIR"])
    (folder / "telegram").mkdir(parents=True)
    (folder / "telegram" / "7001-42.ogg").write_bytes(b"OggS")
    pid = make_participant("CAL-0001")
    _recorded(nsw, pid, ["telegram/7001-42.ogg", "twilio:RE0123"])
    result = cli("participant", "erase", "CAL-0001", "--yes", expect=1)
    assert "twilio:RE0123" in result.output
    assert not (folder / "telegram" / "7001-42.ogg").exists()
