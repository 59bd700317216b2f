"""Staff-area migrations (0002, 0005, 0013, 0015) on a database that already has rows."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from storage.migrate import alembic_config


def test_existing_sites_get_the_starting_word_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sites (code, name, contact_text, is_tryout, created_at) "
            "VALUES ('CAL', 'Calderdale', '', 0, '2026-01-01 00:00:00')"))
    command.upgrade(config, "head")
    with engine.connect() as connection:
        words, lead = connection.execute(
            text("SELECT worrying_words, safeguarding_lead FROM sites")).one()
    assert "abus*" in words.splitlines() and lead == ""
    assert {"safeguarding_flags", "sign_in_attempts"} <= set(inspect(engine).get_table_names())
    command.downgrade(config, "0001")
    assert "safeguarding_flags" not in inspect(engine).get_table_names()
    engine.dispose()


def test_0005_keeps_existing_staff_signed_in_able_and_active(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO staff_users (email, password_hash, is_admin, created_at) "
            "VALUES ('lead@cal.example', 'x', 0, '2026-01-01 00:00:00')"))
    command.upgrade(config, "0005")
    with engine.connect() as connection:
        version, active = connection.execute(
            text("SELECT session_version, active FROM staff_users")).one()
    assert (version, bool(active)) == (1, True)
    command.downgrade(config, "0004")
    assert "session_version" not in {c["name"] for c in inspect(engine).get_columns(
        "staff_users")}
    engine.dispose()


def test_0013_gives_administrators_the_admin_role_and_everyone_else_lead(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0008")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO staff_users (email, password_hash, is_admin, created_at) VALUES "
            "('lead@cal.example', 'x', 0, '2026-01-01'), ('boss@example.org', 'x', 1, "
            "'2026-01-01')"))
    command.upgrade(config, "0013")
    with engine.connect() as connection:
        roles = dict(connection.execute(text("SELECT email, role FROM staff_users")).all())
    assert roles == {"lead@cal.example": "lead", "boss@example.org": "admin"}
    answers = {c["name"]: c for c in inspect(engine).get_columns("answers")}
    assert {"mode", "interviewer"} <= set(answers)
    command.downgrade(config, "0008")
    assert "role" not in {c["name"] for c in inspect(engine).get_columns("staff_users")}
    engine.dispose()


def test_0015_names_whom_an_existing_flag_is_about_when_its_answer_says(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0013")
    engine = create_engine(url)
    person = ("'individual', '', 'en', 'web', '', 'baseline', 0, 0, '2026-01-01'")
    response = "'baseline', 'family', 'started', 'family_carer', 'sms', '{}', " \
               "'2026-01-01', '2026-01-01'"
    answer = "'answered', 'sms', 'family_carer', '2026-01-01'"
    with engine.begin() as connection:
        for statement in (
                "INSERT INTO sites (id, code, name, contact_text, is_tryout, created_at) "
                "VALUES (1, 'CAL', 'Calderdale', '', 0, '2026-01-01')",
                "INSERT INTO participants (id, site_id, code, respondent_type, cohort, "
                "language, preferred_channel, needs, current_wave, opted_out, is_tryout, "
                f"created_at) VALUES (1, 1, 'CAL-0001', {person}), "
                f"(2, 1, 'CAL-0002', {person}), (3, 1, 'CAL-F01', {person})",
                # CAL-F01 answered about both: No to "safe" about CAL-0001 only, the
                # same words about each.
                "INSERT INTO responses (id, participant_id, about_id, wave, survey_id, "
                "status, who_answered, channel, progress, started_at, updated_at) VALUES "
                f"(1, 3, 1, {response}), (2, 3, 2, {response})",
                "INSERT INTO answers (response_id, question_id, value_label, text, "
                "recording, raw, status, channel, who_answered, answered_at) VALUES "
                f"(1, 'safe', 'No', '', '', '2', {answer}), "
                f"(2, 'safe', 'Yes', '', '', '1', {answer}), "
                f"(1, 'life_better', '', 'It hurts', '', 'It hurts', {answer}), "
                f"(2, 'life_better', '', 'It hurts', '', 'It hurts', {answer})",
                "INSERT INTO safeguarding_flags (site_id, participant_id, wave, "
                "question_id, text, matched, flagged_at, handled_by, handled_note) VALUES "
                "(1, 3, 'baseline', 'safe', 'No', 'answer: No', '2026-01-01', '', ''), "
                "(1, 3, 'baseline', 'life_better', 'It hurts', 'hurt*', '2026-01-01', "
                "'', ''), "
                "(1, 3, 'baseline', 'message', 'help', 'help', '2026-01-01', '', '')"):
            connection.execute(text(statement))
    command.upgrade(config, "0015")
    with engine.connect() as connection:
        about = connection.execute(text(
            "SELECT question_id, about_id FROM safeguarding_flags ORDER BY id")).all()
    assert about == [("safe", 1), ("life_better", None), ("message", None)]
    command.downgrade(config, "0013")
    assert "about_id" not in {c["name"] for c in inspect(engine).get_columns(
        "safeguarding_flags")}
    engine.dispose()
