"""A site evaluated across a plan of timepoints, written straight to the database.

Calderdale's plan here has a baseline, a 3-month timepoint, an exit, a weekly pulse
for professionals and a journal; people answer at each, a family member and a
professional answer about people, and a person keeps a journal. The rows are made
with the ORM, as the conversation service stores them, so the exports can be read
whatever channel would have brought them.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from content.loader import PACKAGE_CONTENT
from content.plan import load_plan, plan_data
from storage.models import (
    Answer,
    Participant,
    ParticipantLink,
    Response,
    Site,
    SitePlan,
    SurveyVersion,
)
from web_survey.bootstrap import Services

PLAN = """\
timepoints:
  - name: baseline
  - name: 3-month
    opens_after_days: 90
  - name: exit
  - name: pulse
    every_days: 7
    surveys: {professional: outcomes_worker}
entries:
  - name: journal
    survey: journal
    keywords: {en: [DIARY]}
"""
JOURNAL = """\
id: journal
title: {en: "My journal"}
respondent_type: individual
answered_by: self
consent: {en: "Do you want to add to your journal?"}
questions:
  - id: mood
    type: scale3
    label: How they feel today
    text: {en: "How do you feel today?"}
  - id: entry
    type: open
    record: true
    label: What they wrote or said
    text: {en: "What do you want to tell us?"}
"""
NS = 9  # Not sure
ITEMS = ("a_item1", "a_item2", "a_item3", "b_item1", "b_item2", "b_item3", "c_item1",
         "c_item2")
START = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
JOURNAL_TEXT = "A good day out, ring me on 07700 900123"
# The site's second version of the individual survey changes a label (its wording for
# evaluators); the first is the shipped file as it is.
FEEL_LABEL = "How they feel about their social worker"
NEW_FEEL_LABEL = "Their feeling about their social worker (CAL wording)"


def individual_source(version: int) -> str:
    """The site's published text of the individual survey, in ``version`` 1 or 2."""
    text = (PACKAGE_CONTENT / "individual.yaml").read_text(encoding="utf-8")
    return text if version == 1 else text.replace(f"label: {FEEL_LABEL}",
                                                   f"label: {NEW_FEEL_LABEL}")


def content_folder(tmp_path: Path) -> Path:
    """The people's and families' shipped surveys, the example outcome survey for
    professionals (scored domains) and a journal survey."""
    folder = tmp_path / "surveys"
    folder.mkdir()
    for name in ("individual.yaml", "family.yaml"):
        shutil.copy(PACKAGE_CONTENT / name, folder / name)
    shutil.copy(PACKAGE_CONTENT.parent / "examples" / "outcomes_worker.yaml", folder)
    (folder / "journal.yaml").write_text(JOURNAL, encoding="utf-8")
    return folder


class Writer:
    """Writes people, links and responses for one site."""

    def __init__(self, nsw: Services, tmp_path: Path) -> None:
        self.nsw = nsw
        self.ids: dict[str, int] = {}
        self.versions: dict[tuple[str, int], int] = {}
        self.days = 0
        path = tmp_path / "plan.yaml"
        path.write_text(PLAN, encoding="utf-8")
        with nsw.uow() as uow:
            site = uow.repo.site("CAL") or Site(code="CAL", name="Calderdale",
                                                contact_text="Call 0113 496 0000.")
            uow.session.add(site)
            uow.session.flush()
            uow.session.add(SitePlan(site_id=site.id, version=1, source=PLAN,
                                     plan=plan_data(load_plan(path))))
            for version in (1, 2):
                row = SurveyVersion(site_id=site.id, survey_id="individual", version=version,
                                    source=individual_source(version), digest=str(version))
                uow.session.add(row)
                uow.session.flush()
                self.versions["individual", version] = row.id
            uow.commit()
            self.site_id = site.id

    def person(self, code: str, kind: str, about: tuple[str, ...] = ()) -> int:
        with self.nsw.uow() as uow:
            person = Participant(site_id=self.site_id, code=code, respondent_type=kind)
            uow.session.add(person)
            uow.session.flush()
            for other in about:
                uow.session.add(ParticipantLink(participant_id=person.id,
                                                about_id=self.ids[other]))
            uow.commit()
            self.ids[code] = person.id
        return person.id

    def respond(self, code: str, wave: str, survey: str, answers: dict[str, object], *,
                occurrence: int = 0, about: str | None = None, who: str = "self",
                channel: str = "sms", version: int | None = None,
                status: str = "completed") -> None:
        """One response: codes (int), text (str), a recording (a ``.wav`` name) or a
        skip (None) for each question id."""
        self.days += 1
        when = START + timedelta(days=self.days)
        with self.nsw.uow() as uow:
            response = Response(
                participant_id=self.ids[code], wave=wave, occurrence=occurrence,
                about_id=self.ids[about] if about else None, survey_id=survey,
                survey_version_id=self.versions.get((survey, version or 0)),
                status=status, who_answered=who, channel=channel, consent_given=True,
                started_at=when, completed_at=when + timedelta(minutes=5)
                if status == "completed" else None)
            for question, value in answers.items():
                answer = Answer(question_id=question, channel=channel, who_answered=who,
                                answered_at=when)
                if value is None:
                    answer.status = "skipped"
                elif isinstance(value, int):
                    answer.value_code = value
                elif value.endswith(".wav"):
                    answer.recording = value
                else:
                    answer.text = value
                response.answers.append(answer)
            uow.session.add(response)
            uow.commit()


def outcomes(codes: tuple[int | None, ...]) -> dict[str, object]:
    """The example outcome survey's items, in order."""
    return dict(zip(ITEMS, codes, strict=True))


def evaluated_site(nsw: Services, tmp_path: Path) -> Writer:
    """CAL across its plan: two people, a family member about one, a professional
    about both (and in weekly pulses), and a journal."""
    site = Writer(nsw, tmp_path)
    site.person("CAL-0001", "individual")
    site.person("CAL-0002", "individual")
    site.person("CAL-0003", "family", about=("CAL-0001",))
    site.person("CAL-0005", "professional", about=("CAL-0001", "CAL-0002"))
    site.respond("CAL-0001", "baseline", "individual",
                 {"know_sw": 1, "sw_feel": 3, "home": 2}, version=1)
    site.respond("CAL-0001", "3-month", "individual",
                 {"know_sw": 1, "sw_feel": 2, "home": 3}, version=2, channel="web")
    site.respond("CAL-0001", "exit", "individual",
                 {"know_sw": 1, "sw_feel": 3, "home": 3, "better_now": 3}, version=2,
                 channel="voice")
    site.respond("CAL-0002", "baseline", "individual", {"know_sw": 2, "home": 1}, version=1)
    site.respond("CAL-0002", "exit", "individual", {"know_sw": 2, "home": 2}, version=2,
                 who="supported")
    site.respond("CAL-0003", "baseline", "family", {"know_sw": 1, "home": 3},
                 about="CAL-0001", who="family_carer")
    site.respond("CAL-0003", "exit", "family", {"know_sw": 1, "home": 2},
                 about="CAL-0001", who="family_carer")
    #                    a: mean, a3 reversed, >= 2  b: sum, Not sure = 3   c: mean, both
    for about, baseline, later in (
            ("CAL-0001", (4, 4, 2, 5, NS, 3, 2, NS), (5, 5, 1, 5, 5, 5, 4, 5)),
            ("CAL-0002", (3, NS, None, 4, None, 4, 1, 2), (2, 4, 5, 1, 1, NS, NS, NS))):
        site.respond("CAL-0005", "baseline", "outcomes_worker", outcomes(baseline),
                     about=about, who="professional", channel="web")
        site.respond("CAL-0005", "3-month", "outcomes_worker", outcomes(later),
                     about=about, who="professional", channel="web")
    for number, codes in ((1, (3, 3, 3, 3, 3, 3, 3, 3)), (2, (4, 4, 2, 4, 4, 4, 4, 4))):
        site.respond("CAL-0005", "pulse", "outcomes_worker", outcomes(codes),
                     occurrence=number, about="CAL-0001", who="professional", channel="web")
    site.respond("CAL-0001", "journal", "journal", {"mood": 3, "entry": JOURNAL_TEXT},
                 occurrence=1)
    site.respond("CAL-0001", "journal", "journal", {"mood": 1, "entry": "RE0002.wav"},
                 occurrence=2, channel="voice")
    return site
