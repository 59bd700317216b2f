"""``nsw-feedback chat``: answer a survey in the terminal, as a text or a phone caller would."""

from __future__ import annotations

import sys

import click

from bot.channels.text import messages
from bot.engine import FINISHED_STATUSES, WAVES, Event

from .common import make_app, services

KEYPAD = set("0123456789*#")


def _event(line: str, channel: str) -> Event:
    """A line typed at the terminal, as the channel would deliver it."""
    if channel == "voice" and line and set(line) <= KEYPAD:
        return Event("key", line)
    return Event("text", line)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--survey", "survey_id", default="individual", show_default=True)
    @click.option("--wave", type=click.Choice(WAVES), default="baseline", show_default=True)
    @click.option("--channel", type=click.Choice(["sms", "voice"]), default="sms",
                  show_default=True, help="voice shows the keypad choices a caller hears.")
    @click.option("--language", default="en", show_default=True)
    @click.option("--participant", "code", default="",
                  help="Answer as this participant: their answers count.")
    def chat(survey_id: str, wave: str, channel: str, language: str, code: str) -> None:
        """Play a survey in the terminal through the real engine and database."""
        app = make_app()
        nsw = services(app)
        try:
            survey = nsw.surveys.get(survey_id)
        except KeyError as error:
            raise click.ClickException(str(error.args[0])) from error
        if code:
            with nsw.uow() as uow:
                person = uow.repo.participant(code.upper())
                if person is None:
                    raise click.ClickException(f"there is no participant {code!r}")
                if person.respondent_type != survey.respondent_type:
                    raise click.ClickException(
                        f"{person.code} answers the {person.respondent_type} survey")
                if person.current_wave != wave:
                    raise click.ClickException(
                        f"{person.code} is on the {person.current_wave} wave")
                participant_id = person.id
        else:
            participant_id = nsw.conversations.tryout(survey.id, wave, language)
            click.echo("(Try-out: these answers are kept apart and never exported.)", err=True)
        mode = "chat" if channel == "sms" else "voice"
        reply = nsw.conversations.handle(participant_id, mode, Event("start"))
        interactive = sys.stdin.isatty()
        while True:
            for message in messages(reply.prompts):
                click.echo(("🔊 " if channel == "voice" else "") + message)
                click.echo()
            if reply.status in FINISHED_STATUSES:
                return
            line = sys.stdin.readline() if not interactive else _ask()
            if not line:
                click.echo("(End of input: your answers are saved. Run chat again to carry on.)",
                           err=True)
                return
            reply = nsw.conversations.handle(participant_id, mode, _event(line.strip(), channel))


def _ask() -> str:
    try:
        return input("> ") + "\n"
    except EOFError:
        return ""
