"""Staff-area fixtures: sites, accounts and a client that signs in like a person does."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from storage.models import Site, StaffRole
from storage.staff import add_staff
from web_survey.bootstrap import Services

PASSWORD = "correct horse battery staple"
SITES = {"CAL": "Calderdale", "CAM": "Camden"}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_of(page: TestResponse) -> str:
    """The CSRF token in a page's form, as a browser would submit it."""
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class _Table(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows = table_id, 0, []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.cell is not None and tag in ("td", "th"):
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each cell of the table with ``table_id``, row by row, as people read it."""
    parser = _Table(table_id)
    parser.feed(page)
    assert parser.rows, f"there is no table {table_id!r} on the page"
    return parser.rows


class Staff:
    """A test client used the way a member of staff uses the browser."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        token = csrf_of(self.client.get("/staff/sign-in"))
        return self.client.post("/staff/sign-in", data={
            "csrf_token": token, "email": email, "password": password})

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, form_page: str = "",
             **kwargs: Any) -> TestResponse:
        """POST as the form on ``form_page`` (default: the staff home page) would."""
        page = self.client.get(form_page or "/staff/sign-in", follow_redirects=True)
        return self.client.post(url, data={"csrf_token": csrf_of(page), **(data or {})},
                                **kwargs)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, at its cheapest cost, so the many sign-ins here stay fast."""
    monkeypatch.setattr("storage.staff._hasher",
                        PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def sites(nsw: Services) -> dict[str, int]:
    """Calderdale and Camden, each with its contact wording and a named reviewer."""
    with nsw.uow() as uow:
        made = {}
        for code, name in SITES.items():
            site = Site(code=code, name=name, safeguarding_lead=f"Lead at {name}",
                        contact_text=f"Please call {name} social care on 0113 496 0000.")
            uow.session.add(site)
            uow.session.flush()
            made[code] = site.id
        uow.commit()
    return made


@pytest.fixture
def make_staff(nsw: Services, sites: dict[str, int]) -> Callable[..., str]:
    """Add a staff account (a site's lead, an interviewer with ``role``, or an
    administrator) and return its email."""

    def make(email: str, site: str | None = None, admin: bool = False,
             role: StaffRole | None = None) -> str:
        with nsw.uow() as uow:
            add_staff(uow.repo, email, PASSWORD, uow.repo.site(site) if site else None, admin,
                      actor="test", role=role)
            uow.commit()
        return email

    return make


@pytest.fixture
def staff(client: FlaskClient) -> Staff:
    return Staff(client)


@pytest.fixture
def as_cal(staff: Staff, make_staff: Callable[..., str]) -> Staff:
    """Signed in as Calderdale's evaluation lead."""
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    return staff
