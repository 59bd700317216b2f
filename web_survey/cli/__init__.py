"""The ``nsw-feedback`` command line. Each group of commands lives in its own module.

A module is imported only when one of its commands runs (or shows its own help), so
``nsw-feedback --help`` answers without loading Flask, SQLAlchemy, pandas or the
provider libraries. The table below gives each command's module and its one-line help;
``tests/integration/test_cli_startup.py`` checks that it matches the commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

# Command name -> (module under web_survey.cli, the command's one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "bot": ("bot", "Run the Telegram bot by long polling (for the demo and small sites)."),
    "chat": ("chat", "Play a survey in the terminal through the real engine and database."),
    "content": ("content", "Survey wording and audio."),
    "db": ("db", "Database schema."),
    "demo": ("demo", "Seed a demo site in a local SQLite database and start the app."),
    "digest": ("digest", "Print a site's figures for the week (with --send, email them to "
                         "its staff)."),
    "export": ("export", "Export a site's answers for its evaluation, pseudonymised."),
    "invite": ("invite", "Invite a site's participants to answer a wave."),
    "measures": ("measures", "Outside measures: figures per person and period, from a CSV."),
    "participant": ("people", "Participants: add, import, erase."),
    "plan": ("plans", "A site's plan: its timepoints, recurring pulses and entry types."),
    "remind": ("remind", "Remind a site's people who have not finished (web links are "
                         "printed to send)."),
    "serve": ("demo", "Run the production web app under gunicorn (migrations run in the "
                      "release step)."),
    "site": ("people", "Pilot sites."),
    "staff": ("people", "Site staff and administrators."),
    "survey": ("plans", "A site's own surveys: publish a version, list them."),
    "tick": ("tick", "Run one round: held sends, reminders and fallback steps that are due."),
    "worker": ("worker", "Run queued jobs and a round a minute: sends, reminders, fallback "
                         "(needs REDIS_URL)."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module (its ``register(main)``) on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self.loaded: set[str] = set()

    def load(self, module: str) -> None:
        """Import ``module`` and register its commands (once)."""
        if module not in self.loaded:
            self.loaded.add(module)
            importlib.import_module(f"{__name__}.{module}").register(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.load(self.lazy[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, read from the table for modules not imported yet."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                stand_in = click.Command(name, help=self.lazy[name][1])
                rows.append((name, stand_in.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Accessible feedback surveys for the named social worker pilot."""
