"""Staff-area migrations (0002, 0005, 0013) on a database that already has rows."""

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
