"""Exports read back the way an evaluator reads them (csv, openpyxl, pyreadstat).

Every answer here is given through the real engine and service, on the channels people
use, so the values checked are the ones a person chose.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import Any

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

from bot.engine import Event
from storage.exports import (
    CODEBOOK_COLUMNS,
    EXPORT_FORMATS,
    REDCAP_COLUMNS,
    ExportError,
    stream_export,
    write_codebook,
    write_export,
)
from storage.models import AuditEntry
from web_survey.bootstrap import Services

FREE_TEXT = '=HYPERLINK("http://evil.example") ring me on 07700 900123'
CHAT_ID = "987654321"
# Personal details typed into an answer (issue 17, item 4): none may reach an export.
TYPED_DETAILS = ("Call me back on 07700 900003 please, or ask my carer Sarah Jones: "
                 "sarah.jones@example.com, 12 Acacia Avenue, Leeds LS6 2AB")
TYPED_SECRETS = ["Sarah", "Jones", "sarah.jones@example.com", "12 Acacia Avenue", "Acacia",
                 "LS6 2AB"]
PHONES = {"CAL-0001": "+447700900001", "CAL-0002": "+447700900002",
          "CAL-0003": "+447700900003", "CAL-0004": "+447700900004",
          "CAL-0005": "+447700900005", "CAM-0001": "+447700900009"}


def run(nsw: Services, pid: int, channel: str, answers: dict[str, str | Event]) -> None:
    """Answer whatever the engine asks, from ``answers`` keyed by question id."""
    conv = nsw.conversations
    reply = conv.handle(pid, channel, Event("start"))
    while reply.question is not None:
        given = answers[reply.question.question_id]
        event = given if isinstance(given, Event) else Event("text", given)
        reply = conv.handle(pid, channel, event)
    if any(p.kind == "review" for p in reply.prompts):
        conv.handle(pid, channel, Event("submit"))


def open_exit(nsw: Services, pid: int) -> None:
    with nsw.uow() as uow:
        uow.repo.participant_by_id(pid).current_wave = "exit"
        uow.commit()


INDIVIDUAL_BASELINE = {"consent": "yes", "who": "1", "practice": "yes", "know_sw": "yes",
                       "sw_feel": "happy", "listened": "yes", "ignored": "no",
                       "decisions": "not sure", "safe": "yes", "home": "ok",
                       "life_better": FREE_TEXT}
# The same person at exit, by phone: keypad presses and a spoken answer.
INDIVIDUAL_EXIT_KEYS = {"consent": Event("key", "1"), "who": Event("key", "1"),
                        "practice": Event("key", "1"), "know_sw": Event("key", "1"),
                        "sw_feel": Event("key", "2"), "listened": Event("key", "1"),
                        "ignored": Event("key", "2"), "decisions": Event("key", "1"),
                        "safe": Event("key", "1"), "home": Event("key", "1"),
                        "better_now": Event("key", "1"), "keep_sw": Event("key", "#"),
                        "life_better": Event("recording", "RE0001.wav")}


@pytest.fixture
def answered(nsw: Services, make_participant: Callable[..., int]) -> dict[str, int]:
    """A site's worth of answers: paired individuals, a family, a professional."""
    ids = {code: make_participant(code, kind, PHONES[code], site=code[:3],
                                  cohort="transition")
           for code, kind in [("CAL-0001", "individual"), ("CAL-0002", "individual"),
                              ("CAL-0003", "family"), ("CAL-0004", "family"),
                              ("CAL-0005", "professional"), ("CAM-0001", "individual")]}
    with nsw.uow() as uow:
        uow.repo.set_contact(uow.repo.participant_by_id(ids["CAL-0003"]), "telegram", CHAT_ID)
        uow.commit()
    run(nsw, ids["CAL-0001"], "sms", INDIVIDUAL_BASELINE)
    open_exit(nsw, ids["CAL-0001"])
    run(nsw, ids["CAL-0001"], "voice", INDIVIDUAL_EXIT_KEYS)
    # Baseline on their own, exit with support: their change must not be computed.
    run(nsw, ids["CAL-0002"], "sms", {**INDIVIDUAL_BASELINE, "home": "sad",
                                      "life_better": "skip"})
    open_exit(nsw, ids["CAL-0002"])
    run(nsw, ids["CAL-0002"], "web", {
        "consent": Event("button", "1"), "who": Event("button", "2"),
        "practice": Event("button", "1"), "know_sw": Event("button", "2"),
        "listened": Event("button", "1"), "ignored": Event("button", "2"),
        "decisions": Event("button", "2"), "safe": Event("button", "1"),
        "home": Event("button", "3"), "better_now": Event("button", "3"),
        "keep_sw": Event("button", "1"), "life_better": Event("text", "More days out")})
    run(nsw, ids["CAL-0003"], "telegram", {
        "consent": "yes", "know_sw": "yes", "involved": "no", "informed": "yes",
        "not_informed": "no", "contact": "hard", "choices": "yes", "safe": "yes",
        "home": "happy", "life_better": TYPED_DETAILS})
    run(nsw, ids["CAL-0004"], "sms", {"consent": "no"})
    run(nsw, ids["CAL-0005"], "web", {"consent": Event("button", "1"),
                                      "role": Event("button", "1"),
                                      "know_sw": Event("button", "1"),
                                      "voice_reviews": Event("stop")})
    run(nsw, ids["CAM-0001"], "sms", INDIVIDUAL_BASELINE)
    # Try-outs: one from ``nsw-feedback chat`` and one marked try-out at CAL itself.
    tryout = nsw.conversations.tryout("individual", "baseline")
    run(nsw, tryout, "chat", INDIVIDUAL_BASELINE)
    cal_tryout = make_participant("CAL-9999", "individual", "+447700900099", site="CAL",
                                  is_tryout=True)
    run(nsw, cal_tryout, "sms", INDIVIDUAL_BASELINE)
    return ids


def export(nsw: Services, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    with nsw.uow() as uow:
        write_export(uow.session, nsw.surveys, fmt, out, "CAL", vault=nsw.vault, **options)
    return out.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def by_key(rows: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["participant"], r["wave"]): r for r in rows}


# ------------------------------------------------------------------ long


def test_long_csv_has_one_row_per_answer_with_who_answered(nsw, answered):
    rows = read_csv(export(nsw, "long"))
    assert {r["participant"] for r in rows} == {"CAL-0001", "CAL-0002", "CAL-0003",
                                                "CAL-0005"}
    answer = {(r["participant"], r["wave"], r["question_id"]): r for r in rows}
    feel = answer["CAL-0001", "baseline", "sw_feel"]
    assert (feel["value_code"], feel["value_label"], feel["who_answered"], feel["channel"],
            feel["response_status"], feel["survey"], feel["cohort"]) == (
        "3", "Happy", "self", "sms", "completed", "individual", "transition")
    assert answer["CAL-0001", "exit", "sw_feel"]["channel"] == "voice"
    assert answer["CAL-0001", "exit", "keep_sw"]["answer_status"] == "skipped"
    assert answer["CAL-0001", "exit", "life_better"]["recording"] == "RE0001.wav"
    assert answer["CAL-0002", "exit", "home"]["who_answered"] == "supported"
    assert answer["CAL-0003", "baseline", "contact"]["who_answered"] == "family_carer"
    assert answer["CAL-0005", "baseline", "role"]["response_status"] == "started"
    text = answer["CAL-0001", "baseline", "life_better"]["free_text"]
    # Formula-safe, and the typed web address and phone number are gone.
    assert text == ("'=HYPERLINK(\"[web address removed]\") ring me on "
                    "[phone number removed]")
    assert "practice" not in {r["question_id"] for r in rows}
    assert datetime.strptime(feel["answered_at"], "%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------ wide + codebook


def test_wide_csv_holds_a_row_per_participant_and_wave(nsw, answered):
    rows = by_key(read_csv(export(nsw, "wide", survey_id="individual")))
    assert set(rows) == {("CAL-0001", "baseline"), ("CAL-0001", "exit"),
                         ("CAL-0002", "baseline"), ("CAL-0002", "exit")}
    base, end = rows["CAL-0001", "baseline"], rows["CAL-0001", "exit"]
    assert (base["who"], base["who_answered"], base["know_sw"], base["sw_feel"],
            base["decisions"], base["home"], base["better_now"]) == (
        "1", "self", "1", "3", "9", "2", "")
    assert (end["sw_feel"], end["home"], end["better_now"], end["keep_sw"],
            end["channel"], end["status"], end["consent"]) == (
        "2", "3", "3", "", "voice", "completed", "1")
    assert end["life_better_recording"] == "RE0001.wav"
    assert base["life_better"].startswith("'=HYPERLINK")
    assert rows["CAL-0002", "exit"]["who_answered"] == "supported"
    assert rows["CAL-0002", "exit"]["sw_feel"] == ""  # not asked: they did not know them
    family = read_csv(export(nsw, "wide", survey_id="family"))
    assert [(r["participant"], r["status"], r["consent"]) for r in family] == [
        ("CAL-0003", "completed", "1"), ("CAL-0004", "declined", "0")]
    assert family[0]["contact"] == "1" and family[0]["who_answered"] == "family_carer"


def test_cli_writes_wide_csv_with_codebook_beside_it_and_audits(nsw, answered, cli, tmp_path):
    out = tmp_path / "cal.csv"
    result = cli("export", "--site", "cal", "--format", "wide", "--survey", "individual",
                 "--wave", "baseline", "--out", str(out), expect=None)
    assert result.exit_code == 0, result.stderr
    assert [r["participant"] for r in read_csv(out.read_bytes())] == ["CAL-0001", "CAL-0002"]
    codebook = read_csv((tmp_path / "cal.codebook.csv").read_bytes())
    assert tuple(codebook[0]) == CODEBOOK_COLUMNS
    feel = [r for r in codebook if r["variable"] == "sw_feel"]
    assert [(r["value"], r["value_label"], r["missing"]) for r in feel] == [
        ("3", "Happy", ""), ("2", "OK", ""), ("1", "Unhappy", ""), ("9", "Not sure", "yes")]
    assert feel[0]["question"] == "How do you feel about your social worker?"
    assert feel[0]["label"] == "How they feel about their social worker"
    assert feel[0]["asked_if"] == "know_sw is 1 (Yes)"
    assert feel[0]["type"] == "scale3" and feel[0]["waves"] == "baseline exit"
    who = {r["value"]: r["value_label"] for r in codebook if r["variable"] == "who_answered"}
    assert who == {"self": "The person on their own", "supported": "The person with support",
                   "family_carer": "A family member or carer",
                   "professional": "A professional"}
    assert next(r["waves"] for r in codebook if r["variable"] == "keep_sw") == "exit"
    assert {r["variable"] for r in codebook} == set(read_csv(out.read_bytes())[0])
    with nsw.uow() as uow:
        entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.actor.startswith("cli") and entry.site_code == "CAL"
        assert entry.detail == {"format": "wide", "wave": "baseline", "survey": "individual",
                                "drop_free_text": False, "shift_dates": False, "rows": 2}


def test_cli_explains_what_to_choose(nsw, make_participant, cli):
    make_participant()
    result = cli("export", "--site", "CAL", "--format", "wide", expect=None)
    assert result.exit_code != 0
    assert "choose one survey (family, individual, professional)" in result.stderr
    result = cli("export", "--site", "CAL", "--format", "paired", "--survey", "individual",
                 "--wave", "exit", expect=None)
    assert "leave out the wave" in result.stderr
    result = cli("export", "--site", "CAL", "--format", "sav", "--survey", "carers", expect=None)
    assert "there is no survey 'carers'" in result.stderr
    with nsw.uow() as uow:
        assert uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "export")).all() == []


def test_cli_writes_long_to_stdout_and_xlsx_to_a_file(nsw, answered, cli, tmp_path):
    result = cli("export", "--site", "CAL", "--survey", "family", expect=None)
    assert result.exit_code == 0, result.stderr
    assert {r["participant"] for r in read_csv(result.stdout.encode())} == {"CAL-0003"}
    result = cli("export", "--site", "CAL", "--format", "xlsx", "--out",
                 str(tmp_path / "x.xlsx"), "--drop-free-text", "--shift-dates", expect=None)
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames[-1] == "Codebook" and "life_better" not in next(
        book["individual"].iter_rows(values_only=True))
    with nsw.uow() as uow:
        details = [e.detail for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id))]
    assert details == [
        {"format": "long", "wave": "all", "survey": "family", "drop_free_text": False,
         "shift_dates": False, "rows": 9},
        {"format": "xlsx", "wave": "all", "survey": "all", "drop_free_text": True,
         "shift_dates": True, "rows": 7}]


# ------------------------------------------------------------------ paired


def test_paired_puts_baseline_beside_exit_with_change_for_ordered_scales(nsw, answered):
    rows = {r["participant"]: r for r in read_csv(export(nsw, "paired",
                                                         survey_id="individual"))}
    one, two = rows["CAL-0001"], rows["CAL-0002"]
    assert (one["sw_feel_baseline"], one["sw_feel_exit"], one["sw_feel_change"]) == (
        "3", "2", "-1")
    assert (one["home_baseline"], one["home_exit"], one["home_change"]) == ("2", "3", "1")
    assert (one["who_answered_baseline"], one["who_answered_exit"],
            one["same_who_answered"]) == ("self", "self", "1")
    assert (one["decisions_baseline"], one["decisions_exit"]) == ("9", "1")
    assert "decisions_change" not in one and "know_sw_change" not in one  # categories
    assert "better_now_exit" in one and "better_now_baseline" not in one
    assert "better_now_change" not in one
    # A person on their own, then with support: both answers kept, no change.
    assert (two["home_baseline"], two["home_exit"], two["home_change"]) == ("1", "3", "")
    assert two["same_who_answered"] == "0"
    buffer = io.BytesIO()
    write_codebook(nsw.surveys, "paired", buffer, "individual")
    codebook = {r["variable"]: r for r in read_csv(buffer.getvalue())}
    assert "Exit code minus baseline code" in codebook["home_change"]["notes"]
    assert "different kinds of respondent" in codebook["home_change"]["notes"]
    assert codebook["home_change"]["type"] == "change"
    assert codebook["home_exit"]["waves"] == "exit"


def test_paired_with_no_change_when_either_answer_is_not_sure(nsw, make_participant):
    pid = make_participant("CAL-0010", "individual", None)
    run(nsw, pid, "sms", {**INDIVIDUAL_BASELINE, "home": "not sure", "life_better": "skip"})
    open_exit(nsw, pid)
    run(nsw, pid, "sms", {**INDIVIDUAL_BASELINE, "home": "happy", "better_now": "ok",
                          "keep_sw": "yes", "life_better": "skip"})
    row = read_csv(export(nsw, "paired", survey_id="individual"))[0]
    assert (row["home_baseline"], row["home_exit"], row["home_change"]) == ("9", "3", "")
    assert (row["sw_feel_baseline"], row["sw_feel_exit"], row["sw_feel_change"]) == (
        "3", "3", "0")


# ------------------------------------------------------------------ xlsx


def test_xlsx_has_a_sheet_per_survey_paired_sheets_and_a_codebook(nsw, answered, tmp_path):
    path = tmp_path / "cal.xlsx"
    path.write_bytes(export(nsw, "xlsx"))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["family", "family paired", "family trajectory", "individual",
                               "individual paired", "individual trajectory", "professional",
                               "professional paired", "professional trajectory", "Codebook"]

    def table(name: str) -> list[dict[str, Any]]:
        header, *body = book[name].iter_rows(values_only=True)
        return [dict(zip(header, row, strict=True)) for row in body]

    individual = {(r["participant"], r["wave"]): r for r in table("individual")}
    base = individual["CAL-0001", "baseline"]
    assert (base["sw_feel"], base["decisions"], base["who_answered"]) == (3, 9, "self")
    assert isinstance(base["started_at"], datetime)
    formula = [c for row in book["individual"].iter_rows() for c in row
               if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert [(c.data_type, c.value[:2]) for c in formula] == [("s", "'=")]
    paired = {r["participant"]: r for r in table("individual paired")}
    assert (paired["CAL-0001"]["home_change"], paired["CAL-0002"]["home_change"]) == (1, None)
    professional = table("professional")
    assert [(r["participant"], r["status"], r["role"], r["voice_reviews"])
            for r in professional] == [("CAL-0005", "started", 1, None)]
    codebook = table("Codebook")
    assert {r["sheet"] for r in codebook} == set(book.sheetnames) - {"Codebook"}
    reviews = [r for r in codebook if r["sheet"] == "professional"
               and r["variable"] == "voice_reviews"]
    assert [(r["value"], r["value_label"]) for r in reviews] == [
        (5, "Strongly agree"), (4, "Agree"), (3, "Neither"), (2, "Disagree"),
        (1, "Strongly disagree"), (9, "Not sure")]


def test_xlsx_for_one_wave_and_survey(nsw, answered, tmp_path):
    path = tmp_path / "cal.xlsx"
    path.write_bytes(export(nsw, "xlsx", survey_id="individual", wave="exit"))
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["individual", "Codebook"]
    rows = list(book["individual"].iter_rows(values_only=True))
    assert len(rows) == 3 and {r[0] for r in rows[1:]} == {"CAL-0001", "CAL-0002"}


# ------------------------------------------------------------------ SPSS


def test_sav_has_variable_labels_value_labels_and_not_sure_missing(nsw, answered, tmp_path):
    path = tmp_path / "cal.sav"
    path.write_bytes(export(nsw, "sav", survey_id="individual"))
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    rows = {(r.participant, r.wave): r for r in frame.itertuples()}
    base = rows["CAL-0001", "baseline"]
    assert (base.sw_feel, base.decisions, base.home, base.who_answered) == (3, 9, 2, "self")
    assert rows["CAL-0002", "exit"].who_answered == "supported"
    labels = meta.column_names_to_labels
    assert labels["sw_feel"] == "How they feel about their social worker"
    assert labels["who_answered"] == "Who answered"
    assert meta.variable_value_labels["sw_feel"] == {3: "Happy", 2: "OK", 1: "Unhappy",
                                                     9: "Not sure"}
    assert meta.variable_value_labels["who_answered"]["supported"] == "The person with support"
    assert meta.missing_ranges["decisions"] == [{"lo": 9.0, "hi": 9.0}]
    assert "who" not in meta.missing_ranges
    assert meta.variable_measure["sw_feel"] == "ordinal"
    assert base.life_better.startswith("=HYPERLINK")  # SPSS runs no formulas
    assert "[phone number removed]" in base.life_better
    # Read as SPSS treats it, "Not sure" is missing.
    plain, _ = pyreadstat.read_sav(str(path))
    assert plain.loc[(plain.participant == "CAL-0001") & (plain.wave == "baseline"),
                     "decisions"].isna().all()


# ------------------------------------------------------------------ REDCap


def test_redcap_dictionary_layout_and_branching_logic(nsw):
    rows = list(csv.reader(io.StringIO(export(nsw, "dictionary", survey_id="professional")
                                       .decode("utf-8-sig"))))
    assert tuple(rows[0]) == REDCAP_COLUMNS
    fields = {r[0]: dict(zip(REDCAP_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert rows[1][0] == "participant"
    # The timepoint is the REDCap event, a pulse's or entry's number its repeat instance.
    assert "wave" not in fields and "occurrence" not in fields
    reviews = fields["voice_reviews"]
    assert reviews["Form Name"] == "professional"
    assert reviews["Field Type"] == "radio"
    assert reviews["Branching Logic (Show field only if...)"] == "[know_sw] = '1'"
    assert reviews["Choices, Calculations, OR Slider Labels"] == (
        "5, Strongly agree | 4, Agree | 3, Neither | 2, Disagree | 1, Strongly disagree"
        " | 9, Not sure")
    assert reviews["Field Label"] == ("The social worker gave them a voice in care and "
                                      "treatment reviews.")
    assert fields["comments"]["Field Type"] == "notes"
    assert fields["comments"]["Identifier?"] == "y"
    assert fields["consent"]["Field Type"] == "yesno"
    assert fields["started_at"]["Text Validation Type OR Show Slider Number"] == (
        "datetime_seconds_ymd")
    assert fields["who_answered"]["Choices, Calculations, OR Slider Labels"].startswith(
        "self, The person on their own | supported, ")
    assert "Asked at: exit." in fields["joint_change"]["Field Annotation"]
    wide_header = next(csv.reader(io.StringIO(export(nsw, "wide", survey_id="professional")
                                              .decode("utf-8-sig"))))
    assert list(fields) == [name for name in wide_header if name not in ("wave", "occurrence")]


# ------------------------------------------------------------------ privacy


def _all_exports(nsw: Services, **options: Any) -> dict[str, bytes]:
    """Every format for every survey it covers, xlsx unzipped into its parts."""
    found: dict[str, bytes] = {}
    for fmt in EXPORT_FORMATS:
        if fmt == "entries":
            continue  # the default plan has no entry types (test_timepoint_exports has)
        for survey in ([None] if fmt in ("long", "xlsx") else [s.id for s in nsw.surveys]):
            data = export(nsw, fmt, survey_id=survey, **options)
            if fmt == "xlsx":
                with zipfile.ZipFile(io.BytesIO(data)) as book:
                    for name in book.namelist():
                        found[f"xlsx:{name}"] = book.read(name)
            else:
                found[f"{fmt}:{survey}"] = data
            if fmt in ("wide", "paired", "trajectory"):
                buffer = io.BytesIO()
                with nsw.uow() as uow:
                    write_codebook(nsw.surveys, fmt, buffer, survey, session=uow.session,
                                   site_code="CAL")
                found[f"{fmt}-codebook:{survey}"] = buffer.getvalue()
    return found


def test_no_contact_detail_in_any_export(nsw, answered):
    forbidden = [CHAT_ID, "07700 900123", "7700900123", "7700 900123", "07700 900003",
                 "7700900003", *TYPED_SECRETS]
    for phone in PHONES.values():
        national = "0" + phone[3:]
        forbidden += [phone, phone[1:], national, f"{national[:5]} {national[5:]}",
                      phone[3:]]
    exports = _all_exports(nsw)
    assert any(b"CAL-0003" in data for data in exports.values())
    for name, data in exports.items():
        for secret in forbidden:
            assert secret.encode() not in data, (name, secret)
            assert secret.encode("utf-16-le") not in data, (name, secret)
        for code in ("CAM-0001", "CAL-9999", "TRY-"):
            assert code.encode() not in data, (name, code)


def test_drop_free_text_leaves_out_open_answers_everywhere(nsw, answered):
    for name, data in _all_exports(nsw, drop_free_text=True).items():
        for text in (b"HYPERLINK", b"More days out", b"Call me back", b"RE0001.wav"):
            assert text not in data, (name, text)
    assert "life_better" not in read_csv(export(nsw, "wide", survey_id="individual",
                                                drop_free_text=True))[0]
    assert "free_text" not in read_csv(export(nsw, "long", drop_free_text=True))[0]


def test_shift_dates_moves_each_participant_by_their_own_days(nsw, answered):
    plain = by_key(read_csv(export(nsw, "wide", survey_id="individual")))
    shifted = by_key(read_csv(export(nsw, "wide", survey_id="individual",
                                     shift_dates=True)))
    shifts = set()
    for key, row in plain.items():
        days = nsw.vault.date_shift_days(key[0])
        assert 0 <= days <= 364
        shifts.add(days)
        for column in ("started_at", "completed_at"):
            before = datetime.strptime(row[column], "%Y-%m-%d %H:%M:%S")
            after = datetime.strptime(shifted[key][column], "%Y-%m-%d %H:%M:%S")
            assert (before - after).days == days and (before - after).seconds == 0
    assert shifts != {0}
    long_plain = read_csv(export(nsw, "long", survey_id="family"))
    long_shifted = read_csv(export(nsw, "long", survey_id="family", shift_dates=True))
    days = nsw.vault.date_shift_days("CAL-0003")
    for before, after in zip(long_plain, long_shifted, strict=True):
        moved = (datetime.strptime(before["answered_at"], "%Y-%m-%d %H:%M:%S")
                 - datetime.strptime(after["answered_at"], "%Y-%m-%d %H:%M:%S"))
        assert moved.days == days


def test_shifting_dates_needs_the_vault(nsw):
    with nsw.uow() as uow, pytest.raises(ExportError, match="vault"):
        stream_export(uow.session, nsw.surveys, "long", "CAL", shift_dates=True)
