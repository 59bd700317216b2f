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


def deliver(services: Any, invitation: Invitation) -> str:
    """Send ``invitation`` on its channel and return its status.

    Web invitations are links and are not sent. A channel with no sender raises
    ChannelUnavailable naming the settings it needs.
    """
    if invitation.channel == "web":
        return invitation.status
    sender = services.senders.get(invitation.channel)
    if sender is None:
        needed = SETTINGS_NEEDED.get(invitation.channel, "its settings")
        raise ChannelUnavailable(f"{invitation.channel} is not configured: set {needed}")
    return sender(services, invitation)
