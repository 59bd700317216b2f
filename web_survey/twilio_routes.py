"""Twilio's webhooks: ``/twilio/sms``, ``/twilio/whatsapp``, ``/twilio/voice`` (and its
turns), ``/twilio/status``.

Each view checks Twilio's signature, finds the person by their phone number, turns the
request into an engine event through ``bot.channels.sms`` or ``bot.channels.voice`` and
answers with TwiML. A request that fails the check gets 403 before anything is read or
written. Without Twilio settings every route answers 503; the app still starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.channel_table import CHANNELS, ChannelName
from bot.channels import sms, twilio_outbound, voice
from bot.channels.twilio_api import RecordingUnavailable, TwilioGateway, TwilioSettings
from bot.engine import DEFAULT_LANGUAGE, Event, EventKind, Need, Prompt
from bot.service import Audio, Sender, UnknownParticipant, from_provider
from content.audio import find_audio
from storage.uow import InvalidPhone, normalise_phone

from .bootstrap import services
from .security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
csrf.exempt(bp)

# Provider names for inbound ids: a MessageSid, or a CallSid with the turn and question.
SMS_PROVIDER = "twilio-sms"
WHATSAPP_PROVIDER = "twilio-whatsapp"
VOICE_PROVIDER = "twilio-voice"
# Texts, WhatsApp and calls find the person by the same contact: their phone number.
PHONE = CHANNELS[ChannelName.SMS].contact
assert CHANNELS[ChannelName.WHATSAPP].contact == PHONE


def init_app(app: Flask) -> None:
    """Register the webhooks, with a REST gateway when Twilio is configured."""
    settings = TwilioSettings.from_config(app.config)
    app.extensions["twilio"] = TwilioGateway(settings) if settings.configured else None
    app.register_blueprint(bp)


def _gateway() -> TwilioGateway:
    gateway: TwilioGateway | None = current_app.extensions.get("twilio")
    assert gateway is not None, "checked before every request"
    return gateway


def _first(header: str | None) -> str:
    return (header or "").split(",")[0].strip()


def _signed(auth_token: str) -> bool:
    """True when ``X-Twilio-Signature`` signs this exact URL and form.

    Twilio signs the URL it requested, which is ``PUBLIC_BASE_URL`` plus the path: only
    that is checked. ``X-Forwarded-Host``/``-Proto`` are never believed here, so a request
    signed for another host (another Twilio account's app) is refused.
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string
                             else "")
    validator = RequestValidator(auth_token)
    return bool(validator.validate(current_app.config["PUBLIC_BASE_URL"] + target,
                                   request.form, signature))


@bp.before_request
def _check() -> ResponseReturnValue | None:
    gateway: TwilioGateway | None = current_app.extensions.get("twilio")
    if gateway is None:
        return Response("SMS and phone surveys are not set up on this server.\n", 503,
                        mimetype="text/plain")
    if not _signed(gateway.settings.auth_token):
        log.warning("refused a request to %s: the Twilio signature is missing or wrong",
                    request.path)
        return Response("Forbidden\n", 403, mimetype="text/plain")
    return None


def _twiml(body: str) -> Response:
    return Response(body, mimetype="application/xml")


# Each person texts a dozen times or more in one survey, and reading a number with
# phonenumbers costs more than finding the person: remember the last few thousand.
@lru_cache(maxsize=4096)
def _phone(number: str) -> str:
    """``number`` in E.164, or "" when it cannot be a phone number."""
    try:
        return normalise_phone(number)
    except InvalidPhone:
        return ""


def _unknown() -> str:
    """What to tell someone whose number we do not know (the service audited it)."""
    return services().surveys.phrase("unknown_sender", DEFAULT_LANGUAGE)


def _sender(number: str) -> Sender:
    """The person behind ``number`` (a WhatsApp address is the number with a prefix), as
    the service finds them."""
    return Sender(PHONE, _phone(number.removeprefix(twilio_outbound.WHATSAPP_PREFIX)))


def _text_in(channel: str, provider: str) -> ResponseReturnValue:
    """An inbound text on ``channel``: answer it with the next prompts as TwiML messages.

    The sender is found by their number in the transaction that stores the answer; the
    MessageSid makes Twilio's retry record nothing twice.
    """
    message_sid = request.form.get("MessageSid", "")
    if not message_sid:
        abort(400)
    try:
        reply = sms.receive(services().conversations, _sender(request.form.get("From", "")),
                            request.form.get("Body", ""), (provider, message_sid), channel)
    except UnknownParticipant:
        return _twiml(sms.twiml([_unknown()]))
    return _twiml(sms.twiml(reply.texts, _question_audio(channel, reply.question)))


def _question_audio(channel: str, question: Prompt | None) -> str:
    """The URL of the waiting question's rendered audio, on a channel whose messages
    carry media (the table's ``audio_media``: WhatsApp); "" elsewhere, or when none is
    rendered."""
    kinds = CHANNELS[channel].audio_media
    if question is None or not kinds:
        return ""
    found = find_audio(current_app.config["AUDIO_DIR"], question.text, question.language,
                       extensions=kinds)
    if found is None:
        return ""
    return f"{current_app.config['PUBLIC_BASE_URL']}/audio/{question.language}/{found.name}"


@bp.post("/sms")
def sms_in() -> ResponseReturnValue:
    """An inbound text message."""
    return _text_in(ChannelName.SMS, SMS_PROVIDER)


@bp.post("/whatsapp")
def whatsapp_in() -> ResponseReturnValue:
    """An inbound WhatsApp message: Twilio posts the same form as for a text, from
    "whatsapp:+44..."; the answer is TwiML messages, which Twilio sends on WhatsApp."""
    return _text_in(ChannelName.WHATSAPP, WHATSAPP_PROVIDER)


def _call(step: str, event: Event, audio: Audio | None = None, unsaved: str = "") -> Response:
    """Run one step of a call for the person on the other end (the callee of our own
    calls) and answer with its TwiML; ``step`` names it for the provider's retries.
    With ``audio``, the step is that recording, made at ``event.question``. ``unsaved``
    is the id of a recording that could not be fetched, said in the log unless this is
    a retry of a step already stored (whose first delivery stored it and deleted it)."""
    call_sid = request.form.get("CallSid", "")
    if not call_sid:
        abort(400)
    outbound = request.form.get("Direction", "").startswith("outbound")
    who = _sender(request.form.get("To" if outbound else "From", ""))
    inbound = (VOICE_PROVIDER, f"{call_sid}:{step}")
    conversations = services().conversations
    try:
        reply = (conversations.record(who, ChannelName.VOICE, audio, event.question, inbound)
                 if audio is not None else
                 conversations.handle(who, ChannelName.VOICE, event, inbound))
    except UnknownParticipant:
        return _twiml(voice.hang_up(_unknown(), DEFAULT_LANGUAGE, _speaker(())))
    if unsaved and not reply.duplicate:
        log.error("RECORDING NOT SAVED: could not fetch %s from Twilio. The answer keeps "
                  "the reference twilio:%s; fetch it from the Twilio console.", unsaved,
                  unsaved)
    turn = int(request.args.get("n", "0")) + 1
    base = current_app.config["PUBLIC_BASE_URL"]

    def turn_url(question: str) -> str:
        return f"{base}/twilio/voice/turn?{urlencode({'q': question, 'n': turn})}"

    prompts = reply.prompts
    if step == "start" and Need.SUPPORTER in reply.needs:
        # The person answers with a supporter, who may be the one who picked up.
        told = services().surveys.phrase("invite_supporter", reply.language)
        prompts = (Prompt("say", told, reply.language), *prompts)
    return _twiml(voice.render(prompts, turn_url, _speaker(reply.needs)))


def _speaker(needs: Sequence[str]) -> voice.Speaker:
    return voice.Speaker.for_needs(Path(current_app.config["AUDIO_DIR"]),
                                   f"{current_app.config['PUBLIC_BASE_URL']}/audio", needs)


@bp.post("/voice")
def voice_start() -> ResponseReturnValue:
    """A call starts (someone called us, or picked up our call): greet or welcome back."""
    return _call("start", Event(EventKind.START))


@bp.post("/voice/turn")
def voice_turn() -> ResponseReturnValue:
    """The caller answered (keys, words or a recording), or said nothing."""
    question = request.args.get("q", "")
    turn = request.args.get("n", "")
    if not turn.isdigit():
        abort(400)
    step = f"{turn}:{question}"
    recording_sid = request.form.get("RecordingSid", "")
    if recording_sid and request.form.get("RecordingDuration", "") != "0":
        return _recorded(step, question, recording_sid)
    event = voice.event_for(question, request.form.get("Digits", ""),
                            request.form.get("SpeechResult", ""))
    return _call(step, event)


def _recorded(step: str, question: str, recording_sid: str) -> Response:
    """The caller's recording: fetched from Twilio into memory and stored, encrypted,
    with the answer; then Twilio's copy is deleted. If it cannot be fetched, the answer
    keeps Twilio's id (``twilio:<sid>``) so nothing is lost."""
    gateway = _gateway()
    try:
        data = gateway.fetch_recording(recording_sid)
    except RecordingUnavailable as error:
        log.warning("recording %s not fetched: %s", recording_sid, error)
        return _call(step, voice.event_for(question, recording=f"twilio:{recording_sid}"),
                     unsaved=recording_sid)
    stated = request.form.get("RecordingDuration", "")
    audio = from_provider(data, "audio/mpeg", float(stated) if stated.isdigit() else None)
    answer = _call(step, Event(EventKind.RECORDING, question=question), audio)
    try:
        gateway.delete_recording(recording_sid)
    except (RecordingUnavailable, TwilioRestException, OSError) as error:
        log.warning("recording %s is stored but still on Twilio: %s", recording_sid, error)
    return answer


@bp.post("/status")
def status() -> ResponseReturnValue:
    """Twilio's report on a text or call we sent: recorded on its invitation."""
    form = request.form
    twilio_outbound.record_status(
        services(), form.get("MessageSid") or form.get("CallSid", ""),
        form.get("MessageStatus") or form.get("CallStatus", ""), form.get("ErrorCode", ""))
    return "", 204
