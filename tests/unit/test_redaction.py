"""Personal details typed into free text are removed from pseudonymised exports.

Recall is measured on ``tests/data/redaction_sentences.csv``: invented sentences, each
with the kind of detail in it and the detail itself (``bench/redaction_recall.py``
prints the same figures).
"""

import csv

import pytest

from bench.redaction_recall import SENTENCES, measure
from storage.exports.redaction import REMOVED, find, redact


@pytest.fixture(scope="module")
def measured():
    return measure()


def test_the_labelled_set_has_at_least_200_invented_sentences():
    with SENTENCES.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len({row["sentence"] for row in rows}) >= 200
    assert {row["kind"] for row in rows} >= {"email", "phone", "postcode", "address",
                                             "name", "none"}


@pytest.mark.parametrize("kind", ["email", "phone", "postcode"])
def test_recall_is_at_least_95_percent_for_emails_phones_and_postcodes(measured, kind):
    kinds, _ = measured
    assert kinds[kind].total >= 50
    assert kinds[kind].recall >= 0.95, kinds[kind].missed


def test_addresses_and_names_keep_the_recall_they_reach(measured):
    # Not the 95 % target: what the street rule and the name lists reach today
    # (93 % and 83 %), kept from falling back.
    kinds, _ = measured
    assert kinds["address"].recall >= 0.90, kinds["address"].missed
    assert kinds["name"].recall >= 0.80, kinds["name"].missed


def test_no_false_alarm_on_answers_without_personal_details(measured):
    _, alarms = measured
    assert alarms.total >= 50
    assert alarms.missed == []


def test_the_details_in_the_issue_are_replaced_and_the_rest_kept():
    typed = ("Please ask Sarah Jones, sarah.jones@example.com, 12 Acacia Avenue, "
             "Leeds LS6 2AB, or ring 07700 900123. I am 25 and go 3 times a week.")
    assert redact(typed) == (
        f"Please ask {REMOVED['name']}, {REMOVED['email']}, {REMOVED['address']}, "
        f"Leeds {REMOVED['postcode']}, or ring {REMOVED['phone']}. I am 25 and go 3 "
        "times a week.")


@pytest.mark.parametrize("text", [
    "More trips out with my friends", "Will it get better? May be.", "Going to college",
    "NHS and CAL staff", "I went to Leeds on the bus", "",
])
def test_ordinary_answers_are_left_alone(text):
    assert find(text) == [] and redact(text) == text


def test_web_addresses_and_ni_numbers_are_removed():
    assert redact("see www.example.org/me and NI AB 12 34 56 C") == (
        f"see {REMOVED['url']} and NI {REMOVED['ni_number']}")
