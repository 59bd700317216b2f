"""Who is signed in, and the one check that they may see a site's data.

A person who may not see a site gets 404, the same as for a site that does not exist,
so staff cannot even learn which other sites have which participants. Administrator
pages answer 403 to site staff. An interviewer (``StaffRole.INTERVIEWER``) sees only
the pages made with ``interview_page`` at their own site, and gets 403 on every other
page of it: no exports, contact details, settings or audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort
from flask_login import UserMixin, current_user, login_required
from sqlalchemy import select

from storage.models import Participant, SafeguardingFlag, Site, StaffRole, StaffUser
from storage.uow import UnitOfWork

from ..bootstrap import services


@dataclass(frozen=True, eq=False)
class StaffPrincipal(UserMixin):
    """The signed-in person, detached from the database session."""

    id: int
    email: str
    site_code: str
    is_admin: bool
    session_version: int = 1
    role: str = StaffRole.LEAD

    @property
    def is_interviewer(self) -> bool:
        """Runs interviews at their site, and may do nothing else."""
        return self.role == StaffRole.INTERVIEWER

    def get_id(self) -> str:
        """The session's identity: the account and its session version, so raising the
        version (sign-out, a new password, a disabled account) ends every copy."""
        return f"{self.id}.{self.session_version}"

    def may_see(self, site: Site) -> bool:
        """Administrators see every site; staff see only their own."""
        return self.is_admin or (bool(self.site_code) and self.site_code == site.code)

    @classmethod
    def of(cls, user: StaffUser) -> StaffPrincipal:
        return cls(user.id, user.email, user.site.code if user.site else "", user.is_admin,
                   user.session_version, user.role)


def load_user(session_id: str) -> StaffPrincipal | None:
    """Flask-Login's loader: the account behind a session, if it still exists, is not
    disabled, and the session has not been ended since (see ``StaffPrincipal.get_id``)."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    with services().uow() as uow:
        user = uow.session.get(StaffUser, int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return StaffPrincipal.of(user)


def me() -> StaffPrincipal:
    """The signed-in person (only inside views that require sign-in)."""
    return current_user._get_current_object()


def _site_view(view: Callable[..., Any], interviewers: bool) -> Callable[..., Any]:
    """``view`` behind the site check; interviewers get 403 unless ``interviewers``."""

    @wraps(view)
    @login_required
    def wrapper(site_code: str, **kwargs: Any) -> Any:
        with services().uow() as uow:
            site = uow.repo.site(site_code.upper())
            if site is None or site.is_tryout or not me().may_see(site):
                abort(404)
            if me().is_interviewer and not interviewers:
                abort(403)
            return view(uow, site, **kwargs)

    return wrapper


def site_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Open a unit of work, find ``site_code``'s site and check the person may see it.

    The view is called as ``view(uow, site, **rest)``. Every route under
    ``/staff/<site_code>/`` uses this decorator (or ``interview_page``); a route test
    walks them all. Interviewers get 403.
    """
    return _site_view(view, interviewers=False)


def interview_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """``site_page`` for the few pages an interviewer may use too: running an interview
    with one of their site's participants."""
    return _site_view(view, interviewers=True)



def admin_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Administrators only (403 for site staff); the view is called as ``view(uow)``."""

    @wraps(view)
    @login_required
    def wrapper(**kwargs: Any) -> Any:
        if not me().is_admin:
            abort(403)
        with services().uow() as uow:
            return view(uow, **kwargs)

    return wrapper


def participant_of(uow: UnitOfWork, site: Site, code: str) -> Participant:
    """``site``'s participant with ``code``; 404 when it belongs to no site or another."""
    person = uow.repo.participant(code.upper())
    if person is None or person.site_id != site.id:
        abort(404)
    return person


def flag_of(uow: UnitOfWork, site: Site, flag_id: int) -> SafeguardingFlag:
    """``site``'s safeguarding flag ``flag_id``; 404 when it is another site's."""
    flag = uow.session.scalar(select(SafeguardingFlag).where(
        SafeguardingFlag.id == flag_id, SafeguardingFlag.site_id == site.id))
    if flag is None:
        abort(404)
    return flag
