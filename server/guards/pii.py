"""Local PII detectors (no model download): e-mail, phone, payment card, IBAN, national ids, IP, street address.

Each detector is a row of `PII_DETECTORS`: a prefilter that costs one `in`/one regex probe, and a
finder. Number-shaped detectors are skipped for digit-free text, so ordinary prose costs almost
nothing. Every pattern is linear (bounded repetitions, no nested unbounded groups) and runs
under `REGEX_TIMEOUT_S` via `base.matches`.

Confidence (compared with the classifier's threshold, so `mode` decides what is redacted):

| entity | evidence | confidence |
|---|---|---|
| e-mail, IBAN (mod-97), Italian codice fiscale | syntax + checksum | 1.0 / 1.0 / 0.95 |
| card | Luhn + known issuer prefix / Luhn only | 0.95 / 0.5 |
| national id (US SSN dashed, BR CPF, IN Aadhaar, ES DNI) | shape + stdnum validator | 0.85 |
| phone (`phonenumbers.is_valid_number`) | `+` prefix / formatted / bare digits | 0.9 / 0.8 / 0.55 |
| IP address | public / private, loopback, reserved | 0.6 / 0.3 |
| street address | house number + capitalised name + street word | 0.6 |

Decisions: dates (`2024-05-01`, `01.05.2024`) and timestamps are never phone numbers; a
number preceded by `v`/`version` is a version, not an IP; national numbers without `+` are
parsed for `DEFAULT_REGION` (US), so e.g. `020 7946 0958` is found only as `+44 20 7946 0958`.
Person names need a model and are not detected here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

import phonenumbers
import regex
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.es import dni
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.us import ssn

from server.guards.base import EntityKind, Finding, check_time, has_digit, matches

__all__ = ["DEFAULT_REGION", "PiiDetector", "PII_DETECTORS", "find_pii"]

DEFAULT_REGION = "US"

_EMAIL_LOCAL = regex.compile(r"[A-Za-z0-9._%+\-]{1,64}", regex.REVERSE)
_EMAIL_DOMAIN = regex.compile(r"(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])")
_AT = regex.compile(r"@")

# Patterns start with `\d` and check the character before it in a lookbehind placed after the
# first digit: the engine then only tries positions holding a digit (rare in prose), which keeps
# the mixed 10 KB corpus under its budget. Prefixes (`+`, `(`) are read back in Python.
# 7..23 digits with at most two separators between digits.
_NUMBER = regex.compile(r"\d(?<![\w.\-/]\d)(?:[ .\-()\u00a0]{0,2}\d){6,22}(?!\d)")
_DATE = regex.compile(
    r"(?<!\d)(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4})(?!\d)"
)
_FORMATTED_PHONE = regex.compile(r"^\(?\d{2,4}\)?[ .\-]\d{3,4}[ .\-]\d{3,4}$")
_CARD_GROUPING = regex.compile(r"^\d{4}(?:[ \-]?\d{2,6}){2,4}$")
_IBAN = regex.compile(
    r"\d{2}(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d{2})(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])"
)  # the match starts at the check digits; the country code is the two letters before
_IPV4 = regex.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)(?!\w)")
_IPV6 = regex.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_VERSION_BEFORE = regex.compile(r"(?:\bv|\bversion\s?|\bver\.?\s?)\Z", regex.I)
_STREET = regex.compile(
    r"\d(?<!\w\d)\d{0,4}[A-Za-z]?,?\s(?:[A-Z][a-z']{1,20}\.?\s){1,4}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl"
    r"|Terrace|Way|Parkway|Pkwy|Square|Sq|Highway|Hwy)\b\.?"
)
_GERMAN_SUFFIXES = ("straße", "strasse", "weg", "gasse", "platz", "allee")
_GERMAN_NUMBER = regex.compile(
    r"\d(?<=(?:" + "|".join(_GERMAN_SUFFIXES) + r")\s\d)\d{0,3}[a-z]?\b"
)  # house number after a German street suffix; the street name is read back in Python

# Countries of the SWIFT IBAN registry (stdnum's iban.dat, read once): a cheap first filter.
_IBAN_COUNTRIES = frozenset(
    line[:2]
    for line in (files("stdnum") / "iban.dat").read_text(encoding="utf-8").splitlines()
    if len(line) > 2 and line[:2].isalpha() and line[:2].isupper() and line[2] == " "
)

# Issuer prefixes (IIN) of the major networks: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay.
_CARD_PREFIX = regex.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|35|3[068]|62)")


@dataclass(frozen=True, slots=True)
class _IdScheme:
    name: str
    pattern: regex.Pattern[str]
    valid: Callable[[str], bool]
    confidence: float


_ID_SCHEMES: tuple[_IdScheme, ...] = (
    _IdScheme("us.ssn", regex.compile(r"\d(?<![\w\-]\d)\d{2}-\d{2}-\d{4}(?![\w\-])"), ssn.is_valid, 0.85),
    _IdScheme("br.cpf", regex.compile(r"\d(?<![\w.]\d)\d{2}\.\d{3}\.\d{3}-\d{2}(?!\w)"), cpf.is_valid, 0.85),
    _IdScheme("in.aadhaar", regex.compile(r"\d(?<!\w\d)(?<!\d \d)\d{3} \d{4} \d{4}(?!\w| \d)"), aadhaar.is_valid, 0.85),
    _IdScheme("es.dni", regex.compile(r"\d(?<!\w\d)\d{7}-?[A-Z](?!\w)"), dni.is_valid, 0.85),
    _IdScheme(
        "it.codicefiscale",
        regex.compile(r"(?<!\w)[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z](?!\w)"),
        codicefiscale.is_valid,
        0.95,
    ),
)


def _emails(text: str) -> list[Finding]:
    out: list[Finding] = []
    for at in matches(_AT, text, detector="pii.email"):
        check_time(detector="pii.email", chars=len(text))
        i = at.start()
        local = _EMAIL_LOCAL.match(text, max(0, i - 64), i)
        domain = _EMAIL_DOMAIN.match(text, i + 1)
        if local is None or domain is None:
            continue
        start = local.start()
        while start < i and text[start] == ".":  # a sentence dot before the address
            start += 1
        if start < i:
            out.append(Finding(EntityKind.EMAIL, start, domain.end(), 1.0))
    return out


def _card_confidence(digits: str, shown: str) -> float:
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or not _CARD_GROUPING.match(shown):
        return 0.0
    if not luhn.is_valid(digits):
        return 0.0
    return 0.95 if _CARD_PREFIX.match(digits) else 0.5


def _phone_confidence(shown: str, plus: bool) -> float:
    try:
        number = phonenumbers.parse(shown, None if plus else DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return 0.0
    if not phonenumbers.is_valid_number(number):
        return 0.0
    if plus:
        return 0.9
    return 0.8 if _FORMATTED_PHONE.match(shown) else 0.55


def _number_start(text: str, start: int) -> tuple[int, bool]:
    """Where a number candidate really starts (`+1 (`, `+44 `, `(`), and whether it has a `+`;
    -1 when it starts inside a word, a version or a sum (`a+1`, `v1.2`, `x-1`)."""
    plus = False
    if start > 0 and text[start - 1] == "(":
        start -= 1
    if start > 0 and text[start - 1] == "+":
        start, plus = start - 1, True
    elif start > 1 and text[start - 1].isspace() and text[start - 2] == "+":
        start, plus = start - 2, True
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.+/-"):
        return -1, plus
    return start, plus


def _numbers(text: str) -> list[Finding]:
    """Cards and phones, from one candidate scan; dates and timestamps are dropped first."""
    out: list[Finding] = []
    for m in matches(_NUMBER, text, detector="pii.number"):
        check_time(detector="pii.number", chars=len(text))
        start, plus = _number_start(text, m.start())
        if start < 0:
            continue
        shown = text[start : m.end()]
        digits = "".join(c for c in shown if c.isdigit())
        # Above 19 digits nothing here applies (cards <= 19, E.164 phones <= 15): skip cheaply.
        if len(digits) > 19 or _DATE.search(shown) or text[m.end() : m.end() + 1] == ":":
            continue
        card = _card_confidence(digits, shown)
        if card:
            out.append(Finding(EntityKind.CARD, start, m.end(), card))
            continue
        phone = _phone_confidence(shown, plus=plus) if len(digits) <= 15 else 0.0
        if phone:
            out.append(Finding(EntityKind.PHONE, start, m.end(), phone))
    return out


def _ibans(text: str) -> list[Finding]:
    out: list[Finding] = []
    for m in matches(_IBAN, text, detector="pii.iban"):
        check_time(detector="pii.iban", chars=len(text))
        start = m.start() - 2
        shown = text[start : m.end()]
        if shown[:2].upper() not in _IBAN_COUNTRIES:
            continue
        # A greedy match may swallow a following capitalised word: drop space groups until valid.
        while len(shown.replace(" ", "")) >= 15:
            if iban.is_valid(shown.upper()):
                out.append(Finding(EntityKind.IBAN, start, start + len(shown), 1.0))
                break
            cut = shown.rfind(" ")
            if cut < 0:
                break
            shown = shown[:cut]
    return out


# The digit-first schemes share one scan: one alternation after the first digit, named by index.
_DIGIT_SCHEMES = tuple(s for s in _ID_SCHEMES if s.pattern.pattern.startswith("\\d"))
_DIGIT_IDS = regex.compile(
    r"\d(?:"
    + "|".join(f"(?P<s{i}>{s.pattern.pattern[2:]})" for i, s in enumerate(_DIGIT_SCHEMES))
    + ")"
)
_OTHER_SCHEMES = tuple(s for s in _ID_SCHEMES if s not in _DIGIT_SCHEMES)


def _national_ids(text: str) -> list[Finding]:
    found: list[tuple[_IdScheme, regex.Match[str]]] = [
        (_DIGIT_SCHEMES[int(m.lastgroup[1:])], m)
        for m in matches(_DIGIT_IDS, text, detector="pii.national_id")
        if m.lastgroup
    ]
    for scheme in _OTHER_SCHEMES:
        found += [(scheme, m) for m in matches(scheme.pattern, text, detector=f"pii.{scheme.name}")]
    out: list[Finding] = []
    for scheme, m in found:
        check_time(detector=f"pii.{scheme.name}", chars=len(text))
        if scheme.valid(m.group()):
            out.append(Finding(EntityKind.NATIONAL_ID, m.start(), m.end(), scheme.confidence, scheme.name))
    return out


def _ip_confidence(shown: str) -> float:
    try:
        address = ipaddress.ip_address(shown)
    except ValueError:
        return 0.0
    return 0.6 if address.is_global else 0.3


def _ips(text: str) -> list[Finding]:
    out: list[Finding] = []
    candidates = matches(_IPV4, text, detector="pii.ipv4") if has_digit(text) else []
    if "::" in text or text.count(":") >= 7:
        candidates += [
            m for m in matches(_IPV6, text, detector="pii.ipv6") if sum(c.isalnum() for c in m.group()) >= 2
        ]
    for m in candidates:
        check_time(detector="pii.ip", chars=len(text))
        if _VERSION_BEFORE.search(text, max(0, m.start() - 9), m.start()):
            continue
        confidence = _ip_confidence(m.group())
        if confidence:
            out.append(Finding(EntityKind.IP_ADDRESS, m.start(), m.end(), confidence))
    return out


def _streets(text: str) -> list[Finding]:
    out = [
        Finding(EntityKind.STREET_ADDRESS, m.start(), m.end(), 0.6)
        for m in matches(_STREET, text, detector="pii.street")
    ]
    for m in matches(_GERMAN_NUMBER, text, detector="pii.street"):
        end_of_name = m.start() - 1  # the whitespace before the number
        suffix = next(s for s in _GERMAN_SUFFIXES if text.endswith(s, 0, end_of_name))
        start = end_of_name - len(suffix)
        floor = max(0, start - 30)
        while start > floor and text[start - 1].islower():
            start -= 1
        if start > 0 and text[start - 1].isupper() and end_of_name - len(suffix) - start >= 2:
            start -= 1
            if start == 0 or not text[start - 1].isalnum():
                out.append(Finding(EntityKind.STREET_ADDRESS, start, m.end(), 0.6))
    return out


@dataclass(frozen=True, slots=True)
class PiiDetector:
    """One row: `needs(text)` is the cheap prefilter, `find(text)` the detector."""

    name: str
    needs: Callable[[str], bool]
    find: Callable[[str], list[Finding]]


PII_DETECTORS: tuple[PiiDetector, ...] = (
    PiiDetector("email", lambda text: "@" in text, _emails),
    PiiDetector("number", has_digit, _numbers),
    PiiDetector("iban", has_digit, _ibans),
    PiiDetector("national_id", has_digit, _national_ids),
    PiiDetector("ip", lambda text: ":" in text or has_digit(text), _ips),
    PiiDetector("street", has_digit, _streets),
)


def find_pii(text: str, *, detectors: tuple[PiiDetector, ...] = PII_DETECTORS) -> list[Finding]:
    """Every PII finding in `text`, unsorted and possibly overlapping (redact.py resolves overlaps).

    >>> [f.kind.value for f in find_pii("mail bob@example.org or call +1 415 555 2671")]
    ['EMAIL', 'PHONE']
    """
    has = has_digit(text)  # computed once: most detectors share this prefilter
    out: list[Finding] = []
    for detector in detectors:
        needs = has if detector.needs is has_digit else detector.needs(text)
        if needs:
            out.extend(detector.find(text))
    return out
