"""PII detectors, table-driven: what each entity type must find, and look-alikes it must not."""

from __future__ import annotations

import pytest

from server.guards import EntityKind, find_pii

# (text, kind, the exact span found, minimum confidence)
TRUE_POSITIVES = [
    ("write to bob.smith+tag@example.co.uk today", EntityKind.EMAIL, "bob.smith+tag@example.co.uk", 1.0),
    ("Contact: alice@mail.example.org.", EntityKind.EMAIL, "alice@mail.example.org", 1.0),
    ("call +1 415 555 2671 now", EntityKind.PHONE, "+1 415 555 2671", 0.9),
    ("UK office +44 20 7946 0958", EntityKind.PHONE, "+44 20 7946 0958", 0.9),
    ("ring (415) 555-2671 after lunch", EntityKind.PHONE, "(415) 555-2671", 0.8),
    ("or 415.555.2671", EntityKind.PHONE, "415.555.2671", 0.8),
    ("bare 4155552671 works", EntityKind.PHONE, "4155552671", 0.55),
    ("card 4111 1111 1111 1111 exp 12/29", EntityKind.CARD, "4111 1111 1111 1111", 0.95),
    ("amex 3782-822463-10005", EntityKind.CARD, "3782-822463-10005", 0.95),
    ("mc 5555555555554444.", EntityKind.CARD, "5555555555554444", 0.95),
    ("IBAN DE89 3704 0044 0532 0130 00 please", EntityKind.IBAN, "DE89 3704 0044 0532 0130 00", 1.0),
    ("iban GB82WEST12345698765432", EntityKind.IBAN, "GB82WEST12345698765432", 1.0),
    ("to FR14 2004 1010 0505 0001 3M02 606 AND THEN", EntityKind.IBAN, "FR14 2004 1010 0505 0001 3M02 606", 1.0),
    ("SSN 123-45-6789.", EntityKind.NATIONAL_ID, "123-45-6789", 0.85),
    ("CPF 390.533.447-05", EntityKind.NATIONAL_ID, "390.533.447-05", 0.85),
    ("DNI 12345678Z", EntityKind.NATIONAL_ID, "12345678Z", 0.85),
    ("Aadhaar 2341 2341 2346", EntityKind.NATIONAL_ID, "2341 2341 2346", 0.85),
    ("CF RSSMRA85T10A562S", EntityKind.NATIONAL_ID, "RSSMRA85T10A562S", 0.95),
    ("from 8.8.8.8 at noon", EntityKind.IP_ADDRESS, "8.8.8.8", 0.6),
    ("gateway 192.168.1.1", EntityKind.IP_ADDRESS, "192.168.1.1", 0.3),
    ("v6 2001:4860:4860::8888 ok", EntityKind.IP_ADDRESS, "2001:4860:4860::8888", 0.6),
    ("lives at 221 Baker Street, London", EntityKind.STREET_ADDRESS, "221 Baker Street", 0.6),
    ("ship to 1600 Pennsylvania Ave. NW", EntityKind.STREET_ADDRESS, "1600 Pennsylvania Ave.", 0.6),
    ("wohnt Hauptstraße 5 in Berlin", EntityKind.STREET_ADDRESS, "Hauptstraße 5", 0.6),
]

# Look-alikes: nothing of `kind` may be found.
FALSE_POSITIVES = [
    ("a user@localhost login", EntityKind.EMAIL),
    ("decorator @property and @dataclass", EntityKind.EMAIL),
    ("order 4111 1111 1111 1112 (Luhn fails)", EntityKind.CARD),
    ("0000 0000 0000 0000 placeholder", EntityKind.CARD),
    ("tracking 1Z999AA10123456784", EntityKind.CARD),
    ("invoice 2024-000123-77", EntityKind.CARD),
    ("total $1,234,567.89 paid", EntityKind.PHONE),
    ("released 2024-05-01 and 01.05.2024 and 05/01/2024", EntityKind.PHONE),
    ("2024-05-01 12:34:56,789 INFO worker-3 handled 1500 requests in 2345678 us", EntityKind.PHONE),
    ("2024-05-01 12:34:56 ERROR pid=4321 exit=1", EntityKind.PHONE),
    ("version 10.0.19041.1 build", EntityKind.PHONE),
    ("error code 555-123-4567 is not a valid number", EntityKind.PHONE),
    ("pi is 3.14159265358979", EntityKind.PHONE),
    ("ISBN 978-3-16-148410-0", EntityKind.CARD),
    ("DE00 0000 0000 0000 0000 00 bad checksum", EntityKind.IBAN),
    ("ABCD1234EFGH5678IJKL plain id", EntityKind.IBAN),
    ("SSN-like 000-12-3456 is invalid", EntityKind.NATIONAL_ID),
    ("ticket 666-12-3456", EntityKind.NATIONAL_ID),
    ("upgrade to version 1.2.3.4 now", EntityKind.IP_ADDRESS),
    ("v2.10.3.1 changelog", EntityKind.IP_ADDRESS),
    ("999.1.1.1 is not an address", EntityKind.IP_ADDRESS),
    ("meeting at 12:34:56 sharp", EntityKind.IP_ADDRESS),
    ("see section 3.1.4.1.5", EntityKind.IP_ADDRESS),
    ("we shipped 3 Big Boxes", EntityKind.STREET_ADDRESS),
    ("The quick brown fox jumps over the lazy dog.", EntityKind.PHONE),
]


def _found(text: str, kind: EntityKind) -> list[tuple[str, float]]:
    return [(text[f.start : f.end], f.confidence) for f in find_pii(text) if f.kind is kind]


@pytest.mark.parametrize(("text", "kind", "span", "confidence"), TRUE_POSITIVES)
def test_detects(text: str, kind: EntityKind, span: str, confidence: float) -> None:
    found = _found(text, kind)
    assert [s for s, _ in found] == [span]
    assert found[0][1] >= confidence


@pytest.mark.parametrize(("text", "kind"), FALSE_POSITIVES)
def test_ignores_look_alikes(text: str, kind: EntityKind) -> None:
    assert _found(text, kind) == []


def test_digit_free_prose_finds_nothing() -> None:
    assert find_pii("Dear team, the quarterly review is next week. Bring notes: agenda, risks.") == []


def test_national_id_names_its_scheme_not_its_value() -> None:
    (finding,) = find_pii("SSN 123-45-6789")
    assert finding.detail == "us.ssn"
