"""Export columns are named in one place (``bot.engine.columns``), which the loader's
check and the exports share: what the check looks at is what the exports write."""

from __future__ import annotations

from bot.engine.columns import CONTEXT_COLUMNS, PER_WAVE, export_columns, paired_name
from content.loader import load_library
from storage.exports.variables import (
    entry_variables,
    paired_variables,
    trajectory_variables,
    wide_variables,
)


def test_the_exports_write_the_columns_the_check_looks_at():
    for survey in load_library():
        waves = ("baseline", "exit")
        layouts = dict(export_columns(survey, waves))
        checked = {"wide": {name for name, _, _ in layouts["wide"]},
                   "paired": {name for name, _, _ in layouts["paired"]}}
        written = {
            "wide": [v.name for v in wide_variables(survey, waves)],
            "paired": [v.name for v in paired_variables(survey, ("baseline", "exit"))],
        }
        for layout, names in written.items():
            assert len(names) == len(set(names)), layout
            assert set(names) <= checked[layout], layout
        trajectory = [v.name for v in trajectory_variables(survey, [("baseline", None),
                                                                    ("exit", None)])]
        assert set(trajectory) <= checked["paired"]
        entries = [v.name for v in entry_variables([survey], ["journal"])]
        assert set(entries) <= checked["wide"]


def test_every_context_column_is_named_in_the_one_list():
    survey = next(iter(load_library()))
    context = [v.name for v in wide_variables(survey, ["baseline"]) if v.question is None
               and v.domain is None]
    context += [v.name for v in entry_variables([survey], ["journal"]) if v.question is None]
    assert set(context) <= set(CONTEXT_COLUMNS)
    across = {v.name for v in paired_variables(survey, ("baseline", "exit"))
              if v.question is None and v.domain is None}
    assert {paired_name(name, "exit") for name in PER_WAVE} <= across
