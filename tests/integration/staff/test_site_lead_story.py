"""The issue's "done when", end to end: a site lead's whole baseline round."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pyreadstat

from bot.engine import Event
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows
from .test_participants import SAMPLE

REPLIES = ["yes", "1", "yes", "yes", "1", "yes", "no", "1", "yes", "2", "skip"]


def test_import_invite_watch_export_and_never_see_another_site(
        nsw: Services, staff: Staff, make_staff: Callable[..., str],
        make_participant: Callable[..., int], tmp_path: Path) -> None:
    make_participant("CAM-9002", site="CAM", phone="+447700900902")
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    page = "/staff/sites/CAL/participants/import"
    # The six sites' sample, every row given a Calderdale code (a site adds only its own).
    sample = re.sub(r"^[A-Z]{3}-", "CAL-", SAMPLE.read_text(encoding="utf-8"), flags=re.M)
    imported = staff.post(page, data={"file": (io.BytesIO(sample.encode()), "all.csv")},
                          form_page=page, follow_redirects=True)
    assert "50 participants are imported." in imported.get_data(as_text=True)

    invited = staff.post("/staff/sites/CAL/invitations",
                         data={"wave": "baseline", "channel": "web"},
                         form_page="/staff/sites/CAL/invitations", follow_redirects=True)
    listing = invited.get_data(as_text=True)
    tokens = re.findall(r"https://feedback\.example\.org/s/([\w-]+)", listing)
    assert len(tokens) == 50

    # Two individuals answer through their links (the web survey calls the same service).
    with nsw.uow() as uow:
        people = [uow.repo.invitation(t).participant for t in tokens]
        answering = [(p.id, p.code) for p in people if p.respondent_type == "individual"][:2]
    for pid, _ in answering:
        nsw.conversations.handle(pid, "sms", Event("start"))
        for reply in REPLIES:
            nsw.conversations.handle(pid, "sms", Event("text", reply))

    dashboard = staff.get("/staff/sites/CAL/").get_data(as_text=True)
    assert table_rows(dashboard, "rates")[-1] == ["Total", "50", "0", "2", "0", "0"]

    download = staff.post("/staff/sites/CAL/exports", data={"fmt": "long"},
                          form_page="/staff/sites/CAL/exports")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert {row["participant"] for row in rows} == {code for _, code in answering}
    assert b"+44" not in download.get_data()

    for url in ("/staff/sites/CAM/", "/staff/sites/CAM/participants",
                "/staff/sites/CAM/participants/CAM-9002"):
        assert staff.get(url).status_code == 404

    # The exit wave: invite, answer again (happier at home), download paired data.
    staff.post("/staff/sites/CAL/invitations", data={"wave": "exit", "channel": "web"},
               form_page="/staff/sites/CAL/invitations", follow_redirects=True)
    exit_replies = [*REPLIES[:9], "happy", "1", "1", "more trips"]
    for pid, _ in answering:
        nsw.conversations.handle(pid, "web", Event("start"))
        for reply in exit_replies:
            nsw.conversations.handle(pid, "sms", Event("text", reply))
    workbook = staff.post("/staff/sites/CAL/exports",
                          data={"fmt": "xlsx", "survey": "individual"},
                          form_page="/staff/sites/CAL/exports")
    assert workbook.headers["Content-Disposition"].endswith('CAL-individual-xlsx.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(workbook.get_data()), read_only=True)
    paired = list(book["individual paired"].iter_rows(values_only=True))
    # Reading drops a row's empty trailing cells, so pair names and values loosely.
    header, first = paired[0], dict(zip(paired[0], paired[1], strict=False))
    assert {"home_baseline", "home_exit", "home_change"} <= set(header)
    assert (first["home_baseline"], first["home_exit"], first["home_change"]) == (2, 3, 1)
    codebook = {row[1]: row for row in book["Codebook"].iter_rows(values_only=True)}
    assert any("where they live" in str(cell) for cell in codebook["home"])

    spss = staff.post("/staff/sites/CAL/exports", data={"fmt": "sav", "survey": "individual"},
                      form_page="/staff/sites/CAL/exports")
    sav = tmp_path / "cal.sav"
    sav.write_bytes(spss.get_data())
    frame, meta = pyreadstat.read_sav(str(sav))
    assert meta.column_names_to_labels["home"] == "How they feel about where they live"
    assert meta.variable_value_labels["home"] == {1.0: "Unhappy", 2.0: "OK", 3.0: "Happy",
                                                  9.0: "Not sure"}
    assert sorted(frame["home"].tolist()) == [2.0, 2.0, 3.0, 3.0]

    refused = staff.post("/staff/sites/CAL/exports", data={"fmt": "sav"},
                         form_page="/staff/sites/CAL/exports")
    assert refused.status_code == 400
    assert "choose one survey" in refused.get_data(as_text=True)
