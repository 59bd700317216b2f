"""Staff accounts: argon2 password hashes, one site each unless an administrator."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from .models import Site, StaffRole, StaffUser
from .uow import Repository

MIN_PASSWORD = 12
# zxcvbn's score, 0 (guessed at once) to 4 (very hard): 3 and up is accepted.
MIN_STRENGTH = 3
# What zxcvbn noticed, said plainly; anything else is "too easy to guess".
_WHY = (
    ("repeat", "it repeats the same letters or numbers"),
    ("sequence", "it uses a run like abc or 1234"),
    ("keyboard", "it follows the keys along the keyboard"),
    ("common", "it is one of the passwords people use most"),
    ("top", "it is one of the passwords people use most"),
    ("date", "it uses a date or a year"),
    ("name", "it uses a name people can guess"),
    ("word", "it is a single everyday word"),
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


class StaffError(ValueError):
    """A staff account cannot be made as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: StaffUser, password: str) -> bool:
    """True when ``password`` is the user's; constant-time inside argon2."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_strength(password: str, *known: str) -> None:
    """StaffError, in plain words, when ``password`` is short, common or repetitive.

    ``known`` are words an attacker would try first (the email address, the site's
    name); zxcvbn, a maintained strength checker, counts a password built on them weak.
    """
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
    hints = [part for word in known for part in re.split(r"[@.\s_-]+", word.lower()) if part]
    result = zxcvbn(password[:100], user_inputs=hints)
    if result["score"] >= MIN_STRENGTH:
        return
    noticed = " ".join([result["feedback"]["warning"], *result["feedback"]["suggestions"]])
    why = next((plain for key, plain in _WHY if key in noticed.lower()),
               "it would be quick for a computer to guess")
    raise StaffError(f"this password is too easy to guess: {why}. Use three or four words "
                     "that have nothing to do with each other")


def end_sessions(session: Session, user_id: int) -> None:
    """End every signed-in copy of this person's sessions, on every device, at once."""
    session.execute(update(StaffUser).where(StaffUser.id == user_id)
                    .values(session_version=StaffUser.session_version + 1))


def set_password(repo: Repository, user: StaffUser, password: str,
                 actor: str = "cli") -> None:
    """Give ``user`` a new password (checked like a first one) and sign them out
    everywhere: whoever had their old password has no session left."""
    check_strength(password, user.email, user.site.name if user.site else "")
    user.password_hash = hash_password(password)
    end_sessions(repo.session, user.id)
    repo.audit(actor, "staff_password", user.site.code if user.site else "",
               email=user.email)


def disable_staff(repo: Repository, user: StaffUser, actor: str = "cli") -> None:
    """Stop ``user`` signing in, and end every session they have now."""
    user.active = False
    end_sessions(repo.session, user.id)
    repo.audit(actor, "staff_disable", user.site.code if user.site else "", email=user.email)


def enable_staff(repo: Repository, user: StaffUser, actor: str = "cli") -> None:
    """Let a disabled ``user`` sign in again (with their password; no session comes
    back: every one ended when the account was disabled)."""
    user.active = True
    repo.audit(actor, "staff_enable", user.site.code if user.site else "", email=user.email)


def add_staff(repo: Repository, email: str, password: str, site: Site | None,
              admin: bool = False, actor: str = "cli",
              role: StaffRole | None = None) -> StaffUser:
    """Create a staff account after checking the email and password; ``actor`` is who
    asked, for the audit log. ``role`` (a ``StaffRole``) defaults to ``admin`` when
    ``admin`` is set, else ``lead``; an interviewer or lead needs a site."""
    role = StaffRole(role or (StaffRole.ADMIN if admin else StaffRole.LEAD))
    admin = role == StaffRole.ADMIN
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise StaffError(f"{email!r} is not an email address")
    check_strength(password, email, site.name if site else "")
    if site is None and not admin:
        raise StaffError(f"a staff member whose role is {role} needs a site")
    if repo.session.query(StaffUser).filter_by(email=email).first():
        raise StaffError(f"{email} already has an account")
    user = StaffUser(email=email, password_hash=hash_password(password), site=site,
                     is_admin=admin, role=role.value)
    repo.session.add(user)
    repo.audit(actor, "staff_add", site.code if site else "", email=email, admin=admin,
               role=role.value)
    return user
