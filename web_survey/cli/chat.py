"""``nsw-feedback chat``: answer a survey in the terminal, as a text or a phone caller would.

Each line typed goes through the same translation as the Twilio webhooks
(``bot.channels.sms`` and ``bot.channels.voice``), so the terminal shows exactly the
conversation a texter or a caller has.
"""

from __future__ import annotations

import sys

import click

from bot.channel_table import ChannelName
from bot.channels import sms, voice
from bot.engine import WAVES, Event, EventKind, messages
from bot.service import Conversations

from .common import make_app, services


class _Terminal:
    """One terminal conversation, told apart from a real one only by its transport."""

    def __init__(self, conversations: Conversations, participant_id: int,
                 channel: str) -> None:
        self.conversations = conversations
        self.participant_id = participant_id
        self.channel = channel
        self.question = ""

    def begin(self) -> tuple[list[str], bool]:
        """The opening, as a text invitation or an answered call gives it."""
        if self.channel == ChannelName.VOICE:
            return self._voiced(Event(EventKind.START))
        reply = self.conversations.handle(self.participant_id, ChannelName.CHAT,
                                          Event(EventKind.START))
        return messages(reply.prompts), reply.finished

    def send(self, line: str) -> tuple[list[str], bool]:
        """One line typed: the replies, and whether the conversation is over."""
        if self.channel == ChannelName.VOICE:
            keys = bool(line) and set(line) <= voice.KEYPAD
            return self._voiced(voice.event_for(self.question, line if keys else "",
                                                "" if keys else line))
        reply = sms.receive(self.conversations, self.participant_id, line, None,
                            ChannelName.CHAT)
        return reply.texts, reply.finished

    def _voiced(self, event: Event) -> tuple[list[str], bool]:
        reply = self.conversations.handle(self.participant_id, ChannelName.VOICE, event)
        waiting = voice.waiting(reply.prompts)
        self.question = waiting.question_id if waiting else ""
        # A call hangs up when no question is waiting.
        return messages(reply.prompts), waiting is None


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--survey", "survey_id", default="individual", show_default=True)
    @click.option("--wave", default=WAVES[0], show_default=True, metavar="TIMEPOINT",
                  help="Any timepoint (a participant's must be the one they are on).")
    @click.option("--channel", type=click.Choice([ChannelName.SMS, ChannelName.VOICE]),
                  default=ChannelName.SMS,
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
                participant_id, language = person.id, person.language
        else:
            participant_id = nsw.conversations.tryout(survey.id, wave, language)
            click.echo("(Try-out: these answers are kept apart and never exported.)", err=True)
        terminal = _Terminal(nsw.conversations, participant_id, channel)
        texts, over = terminal.begin()
        interactive = sys.stdin.isatty()
        while True:
            for message in texts:
                click.echo(("🔊 " if channel == ChannelName.VOICE else "") + message)
                click.echo()
            if over:
                return
            line = sys.stdin.readline() if not interactive else _ask()
            if not line:
                click.echo("(End of input: your answers are saved. Run chat again to carry on.)",
                           err=True)
                return
            texts, over = terminal.send(line.strip())


def _ask() -> str:
    try:
        return input("> ") + "\n"
    except EOFError:
        return ""
