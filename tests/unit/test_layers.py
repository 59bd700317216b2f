"""The engine decides by what a channel can do, never by which channel it is: no channel
name is written in its code as a string to compare with."""

from __future__ import annotations

import re
from pathlib import Path

from bot.channel_table import CHANNELS

ENGINE = Path(__file__).resolve().parents[2] / "bot" / "engine"


def test_no_channel_name_appears_in_the_engine() -> None:
    names = re.compile(r"""["'](""" + "|".join(CHANNELS) + r"""|whatsapp)["']""",
                       re.IGNORECASE)
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted(ENGINE.glob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if names.search(line)]
    assert found == []
