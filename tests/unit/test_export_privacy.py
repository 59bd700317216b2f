"""Free text in exports: phone numbers removed, everyday numbers kept."""

import pytest

from storage.crypto import Vault
from storage.exports.redaction import PHONE_REMOVED, redact


@pytest.mark.parametrize("typed", [
    "07700 900123", "+44 7700 900123", "07700-900-123", "(0113) 496 0000", "447700900123",
    "+1 415 555 2671", "987654321",
])
def test_a_typed_phone_number_or_chat_id_is_removed(typed):
    assert redact(f"ring me on {typed} please") == f"ring me on {PHONE_REMOVED} please"


@pytest.mark.parametrize("text", [
    "I am 25 and have 3 children", "Since 2024 things are better", "on 12/03/2024 we met",
    "It costs £1,000 a month", "",
])
def test_everyday_numbers_are_kept(text):
    assert redact(text) == text


def test_each_participant_has_their_own_steady_date_shift():
    vault = Vault("key-one")
    shifts = {vault.date_shift_days(f"CAL-{n:04d}") for n in range(200)}
    assert shifts <= set(range(365)) and len(shifts) > 100
    assert vault.date_shift_days("CAL-0001") == Vault("key-one").date_shift_days("CAL-0001")
    assert any(vault.date_shift_days(f"CAL-{n:04d}") != Vault("key-two").date_shift_days(
        f"CAL-{n:04d}") for n in range(5))
