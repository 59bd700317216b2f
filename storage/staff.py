"""Staff accounts: argon2 password hashes, one site each unless an administrator."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .models import Site, StaffUser
from .uow import Repository

MIN_PASSWORD = 12
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


def add_staff(repo: Repository, email: str, password: str, site: Site | None,
              admin: bool = False, actor: str = "cli") -> StaffUser:
    """Create a staff account after checking the email and password; ``actor`` is who
    asked, for the audit log."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise StaffError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
    if site is None and not admin:
        raise StaffError("a staff member who is not an administrator needs a site")
    if repo.session.query(StaffUser).filter_by(email=email).first():
        raise StaffError(f"{email} already has an account")
    user = StaffUser(email=email, password_hash=hash_password(password), site=site,
                     is_admin=admin)
    repo.session.add(user)
    repo.audit(actor, "staff_add", site.code if site else "", email=email, admin=admin)
    return user
