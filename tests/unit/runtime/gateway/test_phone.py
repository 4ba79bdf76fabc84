"""Phones become plain international digits; pairing codes become XXXX-XXXX."""
import pytest

from runtime.gateway.errors import InvalidPhone
from runtime.gateway.naming import salon_id_of, session_name
from runtime.gateway.phone import chat_id, normalise_pairing_code, normalise_phone, phone_of_jid


@pytest.mark.parametrize("raw, expected", [
    ("+7 (900) 123-45-67", "79001234567"),
    ("89001234567", "79001234567"),
    ("9001234567", "79001234567"),
    ("79001234567:13@s.whatsapp.net", "79001234567"),  # the device suffix must not become digits
    ("79681234567:32", "79681234567"),
    ("79001234567@c.us", "79001234567"),
    ("+380 44 123 4567", "380441234567"),
])
def test_phones_are_normalised_to_plain_digits(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "123456789", "0791234567", "7" * 16, "abc"])
def test_impossible_phones_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_jids_and_chat_ids():
    assert phone_of_jid("79001234567:5@s.whatsapp.net") == "79001234567"
    assert phone_of_jid(None) == ""
    assert chat_id("89001234567") == "79001234567@c.us"
    assert chat_id("152912345678901@lid") == "152912345678901@lid"  # a LID must stay @lid


def test_pairing_codes_are_normalised_and_checked():
    assert normalise_pairing_code("abcd efgh") == "ABCD-EFGH"
    assert normalise_pairing_code("5WJT1N7D") == "5WJT-1N7D"
    for bad in ("ABCD-EFG", "ABCD-EFGO", "0000-0000", ""):
        with pytest.raises(ValueError):
            normalise_pairing_code(bad)


def test_session_names():
    assert session_name(42) == "salon_42"
    assert salon_id_of("salon_42") == 42
    assert salon_id_of("default") is None and salon_id_of("salon_x") is None
