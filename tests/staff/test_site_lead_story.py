"""The issue's "done when", end to end: a site lead's whole baseline round."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from bot.engine import Event
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows
from .test_participants import _sample_for

REPLIES = ["yes", "1", "yes", "yes", "1", "yes", "no", "1", "yes", "2", "skip"]


def test_import_invite_watch_export_and_never_see_another_site(
        nsw: Services, staff: Staff, make_staff: Callable[..., str],
        make_participant: Callable[..., int]) -> None:
    make_participant("CAM-0002", site="CAM", phone="+447700900902")
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    page = "/staff/sites/CAL/participants/import"
    imported = staff.post(page, data={"file": (io.BytesIO(_sample_for("CAL")), "cal.csv")},
                          form_page=page, follow_redirects=True)
    assert "9 participants are imported." in imported.get_data(as_text=True)

    invited = staff.post("/staff/sites/CAL/invitations",
                         data={"wave": "baseline", "channel": "web"},
                         form_page="/staff/sites/CAL/invitations", follow_redirects=True)
    listing = invited.get_data(as_text=True)
    tokens = re.findall(r"https://feedback\.example\.org/s/([\w-]+)", listing)
    assert len(tokens) == 9

    # Two individuals answer through their links (the web survey calls the same service).
    with nsw.uow() as uow:
        people = [uow.repo.invitation(t).participant for t in tokens]
        answering = [(p.id, p.code) for p in people if p.respondent_type == "individual"][:2]
    for pid, _ in answering:
        nsw.conversations.handle(pid, "sms", Event("start"))
        for reply in REPLIES:
            nsw.conversations.handle(pid, "sms", Event("text", reply))

    dashboard = staff.get("/staff/sites/CAL/").get_data(as_text=True)
    assert table_rows(dashboard, "rates")[-1] == ["Total", "9", "0", "2", "0", "0"]

    download = staff.post("/staff/sites/CAL/exports", data={"fmt": "long"},
                          form_page="/staff/sites/CAL/exports")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert {row["participant"] for row in rows} == {code for _, code in answering}
    assert b"+44" not in download.get_data()

    for url in ("/staff/sites/CAM/", "/staff/sites/CAM/participants",
                "/staff/sites/CAM/participants/CAM-0002"):
        assert staff.get(url).status_code == 404
