"""The ``nsw-feedback`` command line. Each group of commands lives in its own module."""

from __future__ import annotations

import click

from . import bot, chat, content, db, demo, export, invite, people, remind, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Accessible feedback surveys for the named social worker pilot."""


for module in (bot, chat, content, db, demo, export, invite, people, remind, worker):
    module.register(main)
