"""Every staff route × every role × the site it belongs to.

A Camden member of staff can never see, export or change Calderdale's data: each of
their requests gets 404 (the same as for a site that does not exist) and the database
is exactly as it was. Administrators' pages answer 403 to site staff. An interviewer
gets 403 on every page of their own site but the interview pages.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.service.catalogue import digest
from content.loader import PACKAGE_CONTENT
from storage.models import (
    Base,
    Recording,
    SafeguardingFlag,
    SignInAttempt,
    StaffRole,
    SurveyVersion,
)
from web_survey.bootstrap import Services

from .conftest import Staff

EXAMPLES = PACKAGE_CONTENT.parent / "examples"
COLLEAGUE = "colleague@calderdale.example"  # a Calderdale account the world holds
NEW_PERSON = {"code": "CAL-0100", "respondent_type": "individual", "language": "en",
              "preferred_channel": "web"}


def _csv() -> dict[str, Any]:
    body = b"code,respondent_type\nCAL-0200,family\n"
    return {"file": (io.BytesIO(body), "people.csv")}


def _survey() -> dict[str, Any]:
    return {"file": (io.BytesIO((EXAMPLES / "story.yaml").read_bytes()), "story.yaml")}


def _plan() -> dict[str, Any]:
    body = b"timepoints:\n  - name: baseline\n  - name: mid\n  - name: exit\n"
    return {"file": (io.BytesIO(body), "plan.yaml")}


# (name, method, path, form data). {site} is the site in the URL, {flag} a flag of it,
# {recording} a recording of it, {version} a survey version it published.
SITE_ROUTES: list[tuple[str, str, str, Callable[[], dict[str, Any]] | None]] = [
    ("dashboard", "GET", "/staff/sites/{site}/", None),
    ("participants", "GET", "/staff/sites/{site}/participants", None),
    ("new form", "GET", "/staff/sites/{site}/participants/new", None),
    ("import form", "GET", "/staff/sites/{site}/participants/import", None),
    ("edit form", "GET", "/staff/sites/{site}/participants/{site}-0001", None),
    ("erase form", "GET", "/staff/sites/{site}/participants/{site}-0001/erase", None),
    ("invitations", "GET", "/staff/sites/{site}/invitations", None),
    ("print", "GET", "/staff/sites/{site}/invitations/print?channel=web", None),
    ("exports form", "GET", "/staff/sites/{site}/exports", None),
    ("settings form", "GET", "/staff/sites/{site}/settings", None),
    ("audit log", "GET", "/staff/sites/{site}/audit", None),
    ("surveys", "GET", "/staff/sites/{site}/surveys", None),
    ("publish survey form", "GET", "/staff/sites/{site}/surveys/publish", None),
    ("publish plan form", "GET", "/staff/sites/{site}/plan/publish", None),
    ("survey preview", "GET", "/staff/sites/{site}/surveys/{version}", None),
    ("staff accounts", "GET", "/staff/sites/{site}/staff", None),
    ("add", "POST", "/staff/sites/{site}/participants/new", lambda: dict(NEW_PERSON)),
    ("import", "POST", "/staff/sites/{site}/participants/import", _csv),
    ("edit", "POST", "/staff/sites/{site}/participants/{site}-0001",
     lambda: {"language": "pl", "preferred_channel": "sms", "taking_part": "no"}),
    ("erase", "POST", "/staff/sites/{site}/participants/{site}-0001/erase", dict),
    ("invite", "POST", "/staff/sites/{site}/invitations",
     lambda: {"wave": "baseline", "channel": "web"}),
    ("remind", "POST", "/staff/sites/{site}/invitations/remind", dict),
    ("export", "POST", "/staff/sites/{site}/exports", lambda: {"fmt": "long", "wave": ""}),
    ("settings", "POST", "/staff/sites/{site}/settings",
     lambda: {"contact_text": "Call 0113 496 0999.", "safeguarding_lead": "Someone",
              "worrying_words": "hurt", "remind_after_days": "3", "remind_most": "2"}),
    ("flag handled", "POST", "/staff/sites/{site}/flags/{flag}/handled", lambda: {"note": "done"}),
    ("publish survey", "POST", "/staff/sites/{site}/surveys/publish", _survey),
    ("publish plan", "POST", "/staff/sites/{site}/plan/publish", _plan),
    ("disable staff", "POST", "/staff/sites/{site}/staff",
     lambda: {"email": COLLEAGUE, "action": "disable"}),
    ("case pack", "POST", "/staff/sites/{site}/participants/{site}-0001/case-pack", dict),
    ("interviews", "GET", "/staff/sites/{site}/interviews", None),
    ("interview page", "GET", "/staff/sites/{site}/participants/{site}-0001/interview", None),
    ("interview", "POST", "/staff/sites/{site}/participants/{site}-0001/interview",
     lambda: {"action": "start"}),
    ("play recording", "GET", "/staff/sites/{site}/recordings/{recording}/audio", None),
    ("write down recording", "POST", "/staff/sites/{site}/recordings/{recording}/transcript",
     lambda: {"transcript": "They said it went well.", "participant": "CAL-0001"}),
]
# What an interviewer may use at their own site; every other site page answers 403.
INTERVIEWER_ROUTES = {"interviews", "interview page", "interview"}
ADMIN_ROUTES = [
    ("sites", "GET", "/staff/admin/sites", None),
    ("staff", "GET", "/staff/admin/staff", None),
    ("add site", "POST", "/staff/admin/sites", lambda: {"code": "HER", "name": "Herts"}),
    ("add staff", "POST", "/staff/admin/staff",
     lambda: {"email": "new@cal.example", "site": "CAL", "password": "a long password 1",
              "confirm": "a long password 1"}),
]
ROLES = ("anonymous", "camden", "calderdale", "interviewer", "admin")
# The ids the routes name: {"flag": id, "recording": id}.
World = dict[str, int]


@pytest.fixture
def world(nsw: Services, sites: dict[str, int], make_participant: Callable[..., int],
          make_staff: Callable[..., str]) -> World:
    """Calderdale and Camden, a participant each; a safeguarding flag, a recording and a
    published survey version for Calderdale's: {"flag": id, "recording": id, "version":
    id}; a Calderdale staff account besides the one signed in."""
    make_staff(COLLEAGUE, "CAL")
    cal = make_participant("CAL-0001", site="CAL", phone="+447700900001")
    make_participant("CAM-0001", site="CAM", phone="+447700900002")
    with nsw.uow() as uow:
        flag = SafeguardingFlag(site_id=sites["CAL"], participant_id=cal, wave="baseline",
                                question_id="life_better", text="they hurt me",
                                matched="hurt*")
        recording = Recording(key="matrix", site_id=sites["CAL"], participant_id=cal,
                              question_id="life_better", channel="web",
                              content_type="audio/wav", size=4,
                              audio=nsw.vault.encrypt_bytes(b"RIFF"))
        source = (EXAMPLES / "journal.yaml").read_text(encoding="utf-8")
        version = SurveyVersion(site_id=sites["CAL"], survey_id="journal", version=1,
                                source=source, digest=digest(source), published_by="test")
        uow.session.add_all([flag, recording, version])
        uow.commit()
        return {"flag": flag.id, "recording": recording.id, "version": version.id}


def _sign_in(staff: Staff, role: str, make_staff: Callable[..., str]) -> None:
    if role == "anonymous":
        return
    site = {"camden": "CAM", "calderdale": "CAL", "interviewer": "CAL", "admin": None}[role]
    response = staff.sign_in(make_staff(
        f"{role}@example.org", site, admin=role == "admin",
        role=StaffRole.INTERVIEWER if role == "interviewer" else None))
    assert response.status_code == 302


def snapshot(nsw: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the sign-in attempts, to show nothing changed."""
    with nsw.engine.connect() as connection:
        return {table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables
                if table.name != SignInAttempt.__tablename__}


def _request(staff: Staff, method: str, path: str,
             data: Callable[[], dict[str, Any]] | None) -> Any:
    if method == "GET":
        return staff.get(path)
    return staff.post(path, data=data() if data else {})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "data"), SITE_ROUTES,
                         ids=[route[0] for route in SITE_ROUTES])
def test_site_routes(nsw: Services, staff: Staff, make_staff: Callable[..., str], world: World,
                     role: str, name: str, method: str, path: str,
                     data: Callable[[], dict[str, Any]] | None) -> None:
    _sign_in(staff, role, make_staff)
    before = snapshot(nsw)
    response = _request(staff, method, path.format(site="CAL", **world), data)
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/sign-in")
    elif role == "camden":
        assert response.status_code == 404
        assert "CAL-0001" not in response.get_data(as_text=True)
    elif role == "interviewer" and name not in INTERVIEWER_ROUTES:
        assert response.status_code == 403
        assert "+447700900001" not in response.get_data(as_text=True)
    else:
        assert response.status_code in ((200,) if method == "GET" else (200, 302))
        if method == "POST":
            assert snapshot(nsw) != before, f"{name} changed nothing for {role}"
        return
    assert snapshot(nsw) == before


NAMING_ROUTES = [route for route in SITE_ROUTES if "{site}-0001" in route[2]
                 or "{flag}" in route[2] or "{recording}" in route[2]
                 or "{version}" in route[2]]


@pytest.mark.parametrize(("name", "method", "path", "data"), NAMING_ROUTES,
                         ids=[route[0] for route in NAMING_ROUTES])
def test_own_site_prefix_cannot_reach_another_sites_things(
        nsw: Services, staff: Staff, make_staff: Callable[..., str], world: World,
        name: str, method: str, path: str, data: Callable[[], dict[str, Any]] | None) -> None:
    """Camden's own URL prefix with Calderdale's participant or flag finds nothing."""
    _sign_in(staff, "camden", make_staff)
    before = snapshot(nsw)
    mixed = path.replace("{site}-0001", "CAL-0001").format(site="CAM", **world)
    response = _request(staff, method, mixed, data)
    assert response.status_code == 404
    assert snapshot(nsw) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "data"), ADMIN_ROUTES,
                         ids=[route[0] for route in ADMIN_ROUTES])
def test_admin_routes(nsw: Services, staff: Staff, make_staff: Callable[..., str], world: World,
                      role: str, name: str, method: str, path: str,
                      data: Callable[[], dict[str, Any]] | None) -> None:
    _sign_in(staff, role, make_staff)
    before = snapshot(nsw)
    response = _request(staff, method, path, data)
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/sign-in")
    elif role in ("camden", "calderdale", "interviewer"):
        assert response.status_code == 403
    else:
        assert response.status_code in ((200,) if method == "GET" else (302,))
        if method == "POST":
            assert snapshot(nsw) != before
        return
    assert snapshot(nsw) == before


def test_every_route_is_in_the_matrix(app: Any) -> None:
    """A new staff route must be added to the matrix above (or to this list)."""
    tested = {path.split("?")[0].replace("{site}-0001", "<code>").replace("{site}", "<site_code>")
              .replace("{flag}", "<int:flag_id>").replace("{recording}", "<int:recording_id>")
              .replace("{version}", "<int:version_id>")
              for _, _, path, _ in SITE_ROUTES + ADMIN_ROUTES}
    # Every signed-in person's own pages (test_sign_in.py, test_accounts.py).
    public = {"/staff/sign-in", "/staff/sign-out", "/staff/", "/staff/account/password"}
    staff_rules = {rule.rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/staff")}
    assert staff_rules - public <= tested, staff_rules - public - tested
