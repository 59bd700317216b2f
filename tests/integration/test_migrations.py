"""The Alembic migrations build exactly the schema the models describe, and keep data."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from bot.engine import Event
from bot.service.conversations import Sender
from storage.migrate import alembic_config, upgrade
from storage.models import Answer, Base, Contact, Response


def down_and_up(nsw, revision, table, column):
    """Downgrade the test database to ``revision`` (checking ``table`` has lost
    ``column``), then upgrade it again, keeping its rows."""
    config = alembic_config(nsw.engine.url.render_as_string(hide_password=False))
    nsw.engine.dispose()
    command.downgrade(config, revision)
    with nsw.engine.connect() as connection:
        assert column not in {c["name"] for c in inspect(connection).get_columns(table)}
    upgrade(nsw.engine)
    nsw.engine.dispose()


def test_migrations_match_the_models(nsw):
    with nsw.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_responses_stored_before_the_version_column_carry_on_after_it(nsw, make_participant):
    pid = make_participant()
    conversations = nsw.conversations
    conversations.handle(pid, "sms", Event("start"))
    conversations.handle(pid, "sms", Event("text", "yes"))
    down_and_up(nsw, "0002", "responses", "version")
    reply = conversations.handle(pid, "sms", Event("text", "2"))
    assert reply.question.question_id == "practice"
    with nsw.engine.connect() as connection:
        version, = connection.execute(select(Response.version)).one()
        assert version == 2  # 1 for the rows the migration found, then this turn's
        assert connection.execute(select(Answer.question_id, Answer.value_code)).all() == [
            ("who", 2)]


def test_contacts_stored_before_they_belonged_to_a_site_take_their_participants(
        nsw, make_participant):
    make_participant("CAL-0001", site="CAL", phone="+447700900001")
    make_participant("CAM-0001", site="CAM", phone="+447700900002")
    down_and_up(nsw, "0013", "contacts", "site_id")
    with nsw.uow() as uow:
        found = {(c.participant.code, c.participant.site_id == c.site_id, c.reached_at)
                 for c in uow.session.scalars(select(Contact))}
    assert found == {("CAL-0001", True, None), ("CAM-0001", True, None)}
    reply = nsw.conversations.handle(Sender("phone", "+447700900002"), "sms",
                                     Event("text", "Hello"))
    assert reply.prompts
    with nsw.uow() as uow:
        assert [r.participant.code for r in uow.session.scalars(select(Response))] == [
            "CAM-0001"]
