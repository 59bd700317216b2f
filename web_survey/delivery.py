"""Delivering an invitation on its channel: one entry point for the CLI and staff pages.

Each channel that sends (SMS and voice through Twilio) is a row of outreach's senders
(``Services.senders``) when it is configured; outreach decides who may be contacted,
sends and records the status (``bot.service.outreach``). Web and Telegram invitations are links —
a web address, or a Telegram deep link that opens the bot — that staff paste into an
email or print as a QR code; they are "delivered" by being made. A Telegram link needs
the bot's name (``TELEGRAM_BOT_USERNAME``): a token opens only its own channel's entry,
so a web link would not open a Telegram invitation, and none is offered instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.channel_table import CHANNELS
from storage.invitations import LINK_CHANNELS
from storage.models import Invitation
from storage.uow import Repository


class ChannelUnavailable(RuntimeError):
    """The channel is not configured on this deployment (the message says what to set)."""


def invitation_link(config: Mapping[str, Any], invitation: Invitation) -> str:
    """The web link for an invitation, built on ``PUBLIC_BASE_URL``."""
    return f"{config['PUBLIC_BASE_URL']}/s/{invitation.token}"


# What each provider of the channel table needs set before its channels work.
SETTINGS_NEEDED = {
    "twilio": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
    "telegram": "TELEGRAM_BOT_USERNAME (the bot's name, for its t.me links)",
}
# A channel that needs more than its provider's settings.
CHANNEL_SETTINGS_NEEDED = {
    "whatsapp": (f"{SETTINGS_NEEDED['twilio']}, with TWILIO_WHATSAPP_FROM and "
                 "TWILIO_WHATSAPP_TEMPLATE_SID"),
}


# Said instead of a link for a Telegram invitation while the bot has no name here.
NO_LINK = "no link: set TELEGRAM_BOT_USERNAME (the Telegram bot's name)"


def telegram_link(config: Mapping[str, Any], invitation: Invitation) -> str | None:
    """The Telegram deep link that starts the bot on this invitation, when the bot's
    username is set (``TELEGRAM_BOT_USERNAME``)."""
    username = str(config.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@")
    return f"https://t.me/{username}?start={invitation.token}" if username else None


def link_for(config: Mapping[str, Any], invitation: Invitation) -> str | None:
    """What to hand a person for a link invitation: a web invitation's web link, a
    Telegram one's deep link; None for a Telegram invitation while the bot has no name
    here (its token does not open the web survey, so a web link would only say "not
    found")."""
    if invitation.channel == "telegram":
        return telegram_link(config, invitation)
    return invitation_link(config, invitation)


def check_channel(services: Any, channel: str) -> None:
    """Raise ChannelUnavailable, naming the settings needed, when ``channel`` cannot be
    used. Callers check before making a wave's invitations, so nothing is half done.

    Telegram needs the bot's name (the command line asks Telegram for it when only the
    token is set): without it an invitation would have no link that opens it."""
    config = services.config
    usable = (channel == "web"
              or (channel == "telegram" and bool(config.get("TELEGRAM_BOT_USERNAME")))
              or (channel != "telegram" and services.outreach.sends(channel)))
    if not usable:
        row = CHANNELS.get(channel)
        needed = CHANNEL_SETTINGS_NEEDED.get(
            channel, SETTINGS_NEEDED.get(row.provider if row else "", "its settings"))
        raise ChannelUnavailable(f"{channel} is not configured: set {needed}")


def deliver(services: Any, repo: Repository, invitation: Invitation) -> str:
    """Send ``invitation`` on its channel, record its status on it, and return the status
    (the caller commits).

    Link invitations (web, Telegram) are not sent: staff hand the link on. A channel
    that cannot be used raises ChannelUnavailable naming the settings it needs.
    """
    check_channel(services, invitation.channel)
    if invitation.channel in LINK_CHANNELS:
        return invitation.status
    return services.outreach.deliver(repo, invitation).status.value
