"""Delivering an invitation on its channel: one entry point for the CLI and staff pages.

Each channel that can send (SMS and voice through Twilio, Telegram) registers a sender
in ``Services.senders`` when it is configured; the web channel needs no sender, its
invitation is a link staff paste into an email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.models import Invitation


class ChannelUnavailable(RuntimeError):
    """The channel is not configured on this deployment (the message says what to set)."""


def invitation_link(config: Mapping[str, Any], invitation: Invitation) -> str:
    """The web link for an invitation, built on ``PUBLIC_BASE_URL``."""
    return f"{config['PUBLIC_BASE_URL']}/s/{invitation.token}"


SETTINGS_NEEDED = {
    "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
    "voice": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
    "telegram": "TELEGRAM_BOT_TOKEN",
}


def telegram_link(config: Mapping[str, Any], invitation: Invitation) -> str | None:
    """The Telegram deep link that starts the bot on this invitation, when the bot's
    username is set (``TELEGRAM_BOT_USERNAME``)."""
    username = str(config.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@")
    return f"https://t.me/{username}?start={invitation.token}" if username else None


def check_channel(services: Any, channel: str) -> None:
    """Raise ChannelUnavailable, naming the settings needed, when ``channel`` cannot send.

    Callers check before making a wave's invitations, so nothing is half done.
    """
    if channel != "web" and channel not in services.senders:
        needed = SETTINGS_NEEDED.get(channel, "its settings")
        raise ChannelUnavailable(f"{channel} is not configured: set {needed}")


def deliver(services: Any, invitation: Invitation) -> str:
    """Send ``invitation`` on its channel and return its status.

    Web invitations are links and are not sent. A channel with no sender raises
    ChannelUnavailable naming the settings it needs.
    """
    check_channel(services, invitation.channel)
    if invitation.channel == "web":
        return invitation.status
    return services.senders[invitation.channel](services, invitation)
