"""Each pilot site's example plan publishes as it stands, as the README tells a site
to: its example surveys first, then the plan, with the commands a site would type."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from content.loader import PACKAGE_CONTENT
from content.plan import load_plan

EXAMPLES = PACKAGE_CONTENT.parent / "examples"
SITES = {"calderdale": "CAL", "camden": "CAM", "hertfordshire": "HER",
         "liverpool": "LIV", "nottingham": "NOT", "sheffield": "SHF"}


@pytest.mark.parametrize(("name", "code"), SITES.items(), ids=list(SITES))
def test_a_site_publishes_its_example_plan(cli: Callable[..., Any],
                                           make_participant: Callable[..., int],
                                           name: str, code: str) -> None:
    make_participant(code=f"{code}-0001", site=code)
    plan_path = EXAMPLES / "plans" / f"{name}.yaml"
    plan = load_plan(plan_path)
    examples = {p.stem for p in EXAMPLES.glob("*.yaml")}
    for survey_id in sorted(plan.survey_ids() & examples):
        ran = cli("survey", "publish", str(EXAMPLES / f"{survey_id}.yaml"), "--site", code)
        assert f"Published {survey_id} version 1 for {code}." in ran.stdout
        assert ran.stderr == ""  # no easy-read problem needed a reason
    assert "Published plan version 1" in cli("plan", "publish", str(plan_path),
                                             "--site", code).stdout
    shown = json.loads(cli("plan", "show", "--site", code).stdout)
    assert [t["name"] for t in shown["timepoints"]] == list(plan.names)
    assert [e["name"] for e in shown["entries"]] == [e.name for e in plan.entries]
