"""Enrolling participants: one at a time, from a CSV file, and erasing them on request."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from bot.channel_table import CHANNELS, ENROLLED
from bot.engine import RESPONDENT_TYPES, Need

from .models import (
    RECORDING_PREFIX,
    Answer,
    InboundMessage,
    Invitation,
    KeptMessage,
    OutsideMeasure,
    Participant,
    ParticipantLink,
    Recording,
    Response,
    SafeguardingFlag,
    Site,
)
from .uow import InvalidPhone, Repository, normalise_phone

IMPORT_COLUMNS = ("code", "respondent_type", "cohort", "language", "phone",
                  "preferred_channel", "needs", "about")
# Who may answer about someone else: a family member or a professional, never the
# person themselves.
SPEAKS_ABOUT = ("family", "professional")
KNOWN_NEEDS = tuple(Need)
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,30}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# An answer's recording that Twilio still holds (its download failed): twilio:<sid>.
TWILIO_RECORDING = "twilio:"

log = logging.getLogger(__name__)


class EnrolmentError(ValueError):
    """A participant's details are not acceptable; the message says why."""


@dataclass
class ImportResult:
    """How an import went: participants added, or every row's errors (and none added)."""

    added: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _language(raw: str | None) -> str:
    language = (raw or "en").strip().lower()
    if not _LANGUAGE.match(language):
        raise EnrolmentError(f"the language {language!r} is not a code like en, ur or pl")
    return language


def _channel(raw: str | None) -> str:
    channel = (raw or "web").strip().lower()
    if channel not in ENROLLED:
        raise EnrolmentError(f"the channel {channel!r} is not one of {', '.join(ENROLLED)}")
    return channel


def _needs(raw: str | Iterable[str] | None) -> str:
    items = (raw or "").split(";") if isinstance(raw, str | None) else raw
    needs = [n.strip().lower() for n in items if n.strip()]
    unknown = [n for n in needs if n not in KNOWN_NEEDS]
    if unknown:
        raise EnrolmentError(f"the need {unknown[0]!r} is not one of {', '.join(KNOWN_NEEDS)}")
    return ";".join(dict.fromkeys(needs))


def _phone(repo: Repository, site_id: int, raw: str | None,
           owner: Participant | None = None) -> str:
    """The number, normalised, unless another of this site's participants holds it.
    Another site's participants are not looked at: a number may take part at two sites,
    and refusing it would tell staff that another site holds it."""
    phone = (raw or "").strip()
    if not phone:
        return ""
    try:
        phone = normalise_phone(phone)
    except InvalidPhone as error:
        raise EnrolmentError(f"the phone number {phone!r} is not valid") from error
    holder = repo.participant_by_contact(site_id, "phone", phone)
    if holder is not None and holder is not owner:
        raise EnrolmentError(f"this phone number is {holder.code}'s: one person answers "
                             f"about several people with --about (the about column)")
    return phone


def _reachable(channel: str, has_phone: bool) -> None:
    if CHANNELS[channel].contact == "phone" and not has_phone:
        raise EnrolmentError(f"a phone number is needed to use {channel}")


def _code_site(repo: Repository, code: str) -> str | None:
    """The site a participant code belongs to: the longest site code it begins with,
    followed by a dash ("CAL-0012" is Calderdale's, "CAL-N-0012" a site CAL-N's).

    A site adds only codes of its own, so a code that is taken can only be taken at
    that site: refusing it tells staff nothing about another site (issue 17, item 8).
    """
    owners = [found for found in repo.session.scalars(select(Site.code))
              if code.startswith(f"{found}-")]
    return max(owners, key=len, default=None)


def _checked(repo: Repository, site: Site, row: dict[str, str], seen: set[str]) -> dict[str, str]:
    code = (row.get("code") or "").strip().upper()
    if not code:
        raise EnrolmentError("the code is missing")
    if not _CODE.match(code):
        raise EnrolmentError(f"the code {code!r} may hold only letters, digits and -")
    if code in seen:
        raise EnrolmentError(f"the code {code} is on an earlier row too")
    if _code_site(repo, code) != site.code:
        raise EnrolmentError(f"the code {code} is not one of this site's: codes here "
                             f"begin with {site.code}-")
    if repo.participant(code) is not None:  # the same words whichever site holds it
        raise EnrolmentError(f"the code {code} is taken: choose another code")
    kind = (row.get("respondent_type") or "").strip().lower()
    if kind not in RESPONDENT_TYPES:
        raise EnrolmentError(f"the respondent type {kind!r} is not one of "
                             f"{', '.join(RESPONDENT_TYPES)}")
    language = _language(row.get("language"))
    channel = _channel(row.get("preferred_channel"))
    phone = _phone(repo, site.id, row.get("phone"))
    if phone and f"phone:{phone}" in seen:
        raise EnrolmentError("this phone number is on an earlier row too")
    _reachable(channel, bool(phone))
    return {"code": code, "respondent_type": kind, "language": language,
            "preferred_channel": channel, "phone": phone, "needs": _needs(row.get("needs")),
            "cohort": (row.get("cohort") or "").strip(),
            "about": ";".join(_about(repo, site, kind, code, row.get("about"), seen))}


def _about(repo: Repository, site: Site, kind: str, code: str, raw: str | None,
           seen: set[str]) -> list[str]:
    """The codes of the people a family member or professional speaks about
    (``raw``: codes separated by ``;``), each a participant of ``site`` (or on an
    earlier row of the same import)."""
    codes = [c.strip().upper() for c in (raw or "").split(";") if c.strip()]
    if codes and kind not in SPEAKS_ABOUT:
        raise EnrolmentError(f"only a family member or professional answers about someone "
                             f"else, not a respondent of type {kind!r}")
    for about in codes:
        if about == code:
            raise EnrolmentError("a person cannot answer about themselves as someone else")
        known = repo.participant(about)
        if (known is None or known.site_id != site.id) and about not in seen:
            raise EnrolmentError(f"{about} is not a participant of {site.code}")
    return list(dict.fromkeys(codes))


def _create(repo: Repository, site: Site, clean: dict[str, str]) -> Participant:
    participant = Participant(
        site=site, code=clean["code"], respondent_type=clean["respondent_type"],
        cohort=clean["cohort"], language=clean["language"],
        preferred_channel=clean["preferred_channel"], needs=clean["needs"])
    repo.session.add(participant)
    if clean["phone"]:
        repo.set_contact(participant, "phone", clean["phone"])
    repo.session.flush()
    link_about(repo, participant, [c for c in clean.get("about", "").split(";") if c])
    return participant


def link_about(repo: Repository, speaker: Participant, codes: Iterable[str]) -> list[str]:
    """Record that ``speaker`` (a family member or professional) answers about the people
    with ``codes`` (already checked); return the codes newly linked. Their answers are
    about the first of them until those are given."""
    linked = {p.code for p in speaker.about}
    added = []
    for code in codes:
        about = repo.participant(code)
        if about is None or code in linked:
            continue
        repo.session.add(ParticipantLink(participant_id=speaker.id, about_id=about.id))
        if speaker.current_about_id is None:
            speaker.current_about_id = about.id
        added.append(code)
    repo.session.flush()
    repo.session.expire(speaker, ["about"])
    return added


def add_participant(repo: Repository, site: Site, **details: str) -> Participant:
    """Add one participant; EnrolmentError says what is wrong with the details."""
    return _create(repo, site, _checked(repo, site, details, set()))


def update_participant(repo: Repository, participant: Participant, *, language: str,
                       channel: str, needs: Iterable[str], cohort: str,
                       phone: str = "") -> list[str]:
    """Change how a person is reached and what they need; return the fields changed.

    ``phone`` replaces the stored number when given (blank keeps it). Consent is not
    here: it goes through ``Conversations.opt_out``, which audits it.
    """
    new_phone = _phone(repo, participant.site_id, phone, owner=participant)
    has_phone = bool(new_phone) or any(c.kind == "phone" for c in participant.contacts)
    wanted = {"language": _language(language), "preferred_channel": _channel(channel),
              "needs": _needs(list(needs)), "cohort": cohort.strip()[:40]}
    _reachable(wanted["preferred_channel"], has_phone)
    changed = [name for name, value in wanted.items() if getattr(participant, name) != value]
    for name in changed:
        setattr(participant, name, wanted[name])
    if new_phone and repo.contact_value(participant, "phone") != new_phone:
        repo.set_contact(participant, "phone", new_phone)
        changed.append("phone")
    repo.session.flush()
    return changed


def import_csv(repo: Repository, site: Site, text: str | Iterable[str]) -> ImportResult:
    """Import participants from CSV text. Any bad row means none are added."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.DictReader(lines)
    result = ImportResult()
    missing = [c for c in ("code", "respondent_type") if c not in (reader.fieldnames or [])]
    if missing:
        result.errors.append(f"the file has no '{missing[0]}' column "
                             f"(expected: {', '.join(IMPORT_COLUMNS)})")
        return result
    seen: set[str] = set()
    rows = []
    for number, row in enumerate(reader, start=2):
        try:
            clean = _checked(repo, site, row, seen)
        except EnrolmentError as error:
            result.errors.append(f"row {number}: {error}")
            continue
        seen.update((clean["code"], f"phone:{clean['phone']}"))
        rows.append(clean)
    if result.errors:
        return result
    if not rows:
        result.errors.append("the file has no participants")
        return result
    for clean in rows:
        result.added.append(_create(repo, site, clean).code)
    return result


def erase(repo: Repository, participant: Participant, actor: str) -> list[str]:
    """Remove a person's contacts, answers, invitations, outside measures and stored
    recordings; return their recordings kept elsewhere (files, or Twilio's).

    The caller deletes the returned recordings (``delete_recordings``) once this
    commits. The audit line
    stays, holding the pseudonymous code only, so the site can show that the erasure
    happened without keeping anything about the person.
    """
    code, site_code = participant.code, participant.site.code
    # Their own answers, and what family members and professionals said about them.
    response_ids = list(repo.session.scalars(
        select(Response.id).where((Response.participant_id == participant.id)
                                  | (Response.about_id == participant.id))))
    recordings: list[str] = []
    if response_ids:
        # Recordings in the recordings table go with their rows, below; the rest are
        # files (or Twilio's) for the caller to delete.
        recordings = [r for r in repo.session.scalars(select(Answer.recording).where(
            Answer.response_id.in_(response_ids), Answer.recording != ""))
            if r and not r.startswith(RECORDING_PREFIX)]
        repo.session.execute(delete(Answer).where(Answer.response_id.in_(response_ids)))
        repo.session.execute(delete(Response).where(Response.id.in_(response_ids)))
    repo.session.execute(delete(Invitation).where(
        (Invitation.participant_id == participant.id) | (Invitation.about_id == participant.id)))
    repo.session.execute(delete(ParticipantLink).where(
        (ParticipantLink.participant_id == participant.id)
        | (ParticipantLink.about_id == participant.id)))
    # Their own flags, and those on what others said about them.
    repo.session.execute(delete(SafeguardingFlag).where(
        (SafeguardingFlag.participant_id == participant.id)
        | (SafeguardingFlag.about_id == participant.id)))
    repo.session.execute(delete(OutsideMeasure).where(
        OutsideMeasure.participant_id == participant.id))
    repo.session.execute(delete(KeptMessage).where(
        KeptMessage.participant_id == participant.id))
    repo.session.execute(delete(Recording).where(Recording.participant_id == participant.id))
    repo.session.execute(delete(InboundMessage).where(
        InboundMessage.participant_id == participant.id))
    repo.session.delete(participant)
    repo.session.flush()
    repo.audit(actor, "erase", site_code, participant=code)
    return recordings


def delete_recordings(folder: str | Path, names: Iterable[str],
                      remote: Callable[[str], object] | None = None) -> list[str]:
    """Delete an erased person's recordings wherever they are kept; return those left.

    ``names`` are as answers store them: relative to ``folder``, at its top level (a
    phone recording, ``RE....mp3``) or in a channel's own folder
    (``telegram/<bot>-<update>.ogg``); a name that would reach outside ``folder`` is
    never followed. ``twilio:<sid>`` is a recording Twilio still holds because its
    download failed: ``remote(sid)`` deletes it there. Whatever could not be deleted
    (no ``remote``, a refused deletion, a name outside the folder) is returned, so the
    caller can say so; a file already gone counts as deleted.
    """
    root = Path(folder).resolve()
    left: list[str] = []
    for name in names:
        if name.startswith(TWILIO_RECORDING):
            recording_sid = name.removeprefix(TWILIO_RECORDING)
            if remote is None:
                left.append(name)
                continue
            try:
                remote(recording_sid)
            except Exception:  # any failure leaves it for a person to delete
                log.warning("could not delete recording %s from Twilio", name, exc_info=True)
                left.append(name)
            continue
        path = (root / name).resolve()
        if path == root or not path.is_relative_to(root):
            left.append(name)
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not delete recording %s", name, exc_info=True)
            left.append(name)
    return left
