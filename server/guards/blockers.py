"""URL and file-reference finders for the `url_blocker` and `file_blocker` (spec control-api 3.3).

URLs: scheme URLs (`http`, `https`, `ftp`, `ws`; defanged `hxxp`, `h**p`, `[://]`; percent-encoded
`https%3A%2F%2F`), `www.` hosts, bare domains with a known TLD (also defanged `example[.]com` and
`example%2Ecom`), and IP literals (every IPv4 / bracketed IPv6, private ones included: an
internal address is exactly what an exfiltration or SSRF argument carries).

Files: `file:` URLs, POSIX absolute paths, home paths (`~/`, `~user/`, `$HOME/`), relative
traversals (`../`), Windows drive paths (`C:\\`, `C:/`) and UNC shares (`\\\\host\\share`).

Decisions (false positives we accept or avoid):
* A bare domain needs a TLD from `_TLDS`; TLDs that are common file extensions (`py`, `md`, `sh`,
  `rs`, `pl`, `zip`, `mov`, ...) are left out, so `setup.py` is not a URL, and a TLD must be all
  lower or all upper case, so `end.It was` is not either. `ASP.NET` is masked (accepted).
* The domain of an e-mail address is not a URL (the PII detector owns e-mails).
* A POSIX path needs two segments (`/etc/passwd`), or one under a well-known root or with an
  extension (`/tmp`, `/notes.txt`), and may not start inside a word: `and/or`, `24/7`, `km/h`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import regex

from server.guards.base import EntityKind, Finding, check_time, has_digit, matches

__all__ = ["find_urls", "find_files"]

_TLDS = (
    "com net org edu gov mil int info biz name pro io ai app dev co me tv fm gg ly to xyz online site "
    "tech store shop blog cloud news live top club link click page pages space website email art "
    "onion bit ru su cn tk ga cf gq pw ws uk de fr it es nl be ch at se no dk fi pt ie gr cz hu ro "
    "bg hr si sk lt lv ee ua by kz tr il ir sa ae eg za ng ke in pk bd lk id my sg th vn ph jp kr "
    "hk tw au nz ca us mx br ar cl pe ve uy eu asia ly is"
).split()
_TLD_SET = frozenset(_TLDS)
_DOT = r"(?:\.|\[\.\]|\(\.\)|\[dot\]|\(dot\)|%2[Ee])"
_URL_CHARS = r"[^\s<>\"'`]"
_TRAILING = ".,;:!?)]}'\"*"
_OPENERS = {")": "(", "]": "[", "}": "{"}

# Scheme URLs are found from their separator (rare, literal-first), then the scheme is read
# backwards and the body forwards: no pattern is tried at every letter of the text.
_SCHEME_SEP = regex.compile(r"://|\[://\]|\[:\]//|%3[Aa]%2[Ff]%2[Ff]|%253[Aa]%252[Ff]%252[Ff]")
_SCHEME_NAME = regex.compile(r"(?:h(?:tt|xx|\*\*)ps?|ftps?|sftp|wss?)", regex.I | regex.REVERSE)
_URL_BODY = regex.compile(_URL_CHARS + r"{1,4096}")
_WWW = regex.compile(r"(?<![\w.])www" + _DOT + r"[A-Za-z0-9\-]" + _URL_CHARS + r"{0,4096}", regex.I)
# A dot and 2-7 letters, then a set lookup: cheaper than a 150-way alternation at every dot.
_TLD_ANCHOR = regex.compile(_DOT + r"(?P<tld>[A-Za-z]{2,7})(?![A-Za-z0-9\-])")
_HOST_LEFT = regex.compile(r"(?:[A-Za-z0-9\-]|" + _DOT + r"){1,253}", regex.REVERSE)
_HOST_RIGHT = regex.compile(
    r"(?:" + _DOT + r"[A-Za-z0-9\-]{1,63}){0,126}(?::\d{1,5})?(?:[/?#]" + _URL_CHARS + r"{0,4096})?"
)
_IPV4_LITERAL = regex.compile(
    r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)(?::\d{1,5})?(?:/" + _URL_CHARS + r"{0,4096})?"
)
_IPV6_LITERAL = regex.compile(r"\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?(?:/" + _URL_CHARS + r"{0,4096})?")
_VERSION_BEFORE = regex.compile(r"(?:\bv|\bversion\s?|\bver\.?\s?)\Z", regex.I)

_SEGMENT = r"[\w.\-@+,=%]{1,255}"
_SEGMENTS = r"(?:" + _SEGMENT + r"[\\/]){0,64}(?:" + _SEGMENT + r")?"


def _lower_has(*needles: str) -> Callable[[str], bool]:
    return lambda text: any(n in text for n in needles) or any(n in text.lower() for n in needles)


# (name, prefilter, pattern): each pattern runs only when its cheap prefilter passes.
_FILE_PATTERNS: tuple[tuple[str, Callable[[str], bool], regex.Pattern[str]], ...] = (
    ("fileurl", _lower_has("file:"),
     regex.compile(r"(?<![A-Za-z])file:(?://|%2[Ff]%2[Ff])" + _URL_CHARS + r"{0,4096}", regex.I)),
    ("unc", lambda text: "\\\\" in text,
     regex.compile(r"(?<![\w\\])\\\\[\w.$\-]{1,255}\\[^\s\"'<>|`]{1,4096}")),
    ("drive", lambda text: ":\\" in text or ":/" in text,
     regex.compile(
         r"(?<![\w])[A-Za-z]:[\\/](?:[^\\/:*?\"<>|\s]{1,64}(?: [^\\/:*?\"<>|\s]{1,64}){0,3}[\\/]){0,32}"
         r"[^\\/:*?\"<>|\s]{0,255}"
     )),
    ("home", lambda text: "~" in text or "$" in text or "%" in text,
     regex.compile(
         r"(?<![\w/])(?:~[\w.\-]{0,32}|\$HOME|\$\{HOME\}|%USERPROFILE%|%APPDATA%)[\\/]" + _SEGMENTS, regex.I
     )),
    ("traversal", lambda text: "../" in text or "..\\" in text,
     regex.compile(r"(?<![\w.])(?:\.\.[\\/]){1,32}" + _SEGMENTS)),
    # Starts with the literal `/` so the engine skips ahead; the lookbehind checks the char before.
    ("posix", lambda text: "/" in text,
     regex.compile(r"/(?<![\w/.:~\-\]\)>]/)(?:" + _SEGMENT + r"/){0,64}" + _SEGMENT + r"/?")),
)
_POSIX_ROOTS = frozenset(
    "etc home usr var tmp opt root proc dev sys mnt bin sbin srv lib boot run media private "
    "Users Library Applications Volumes System".split()
)


def _trim(text: str, start: int, end: int) -> int:
    """End of a URL without trailing sentence punctuation (a `)` or `]` stays when it closes one)."""
    while end > start and text[end - 1] in _TRAILING:
        opener = _OPENERS.get(text[end - 1])
        if opener and text.count(opener, start, end) >= text.count(text[end - 1], start, end):
            break
        end -= 1
    return end


def _scheme_urls(text: str) -> list[Finding]:
    out: list[Finding] = []
    for sep in matches(_SCHEME_SEP, text, detector="url.scheme"):
        check_time(detector="url.scheme", chars=len(text))
        name = _SCHEME_NAME.match(text, max(0, sep.start() - 6), sep.start())
        body = _URL_BODY.match(text, sep.end())
        if name is None or body is None or (name.start() > 0 and text[name.start() - 1].isalpha()):
            continue
        out.append(Finding(EntityKind.URL, name.start(), _trim(text, name.start(), body.end())))
    return out


def _www(text: str) -> list[Finding]:
    return [
        Finding(EntityKind.URL, m.start(), _trim(text, m.start(), m.end()))
        for m in matches(_WWW, text, detector="url.www")
    ]


def _bare_domains(text: str) -> list[Finding]:
    out: list[Finding] = []
    covered_to = -1
    for anchor in matches(_TLD_ANCHOR, text, detector="url.domain"):
        tld = anchor.group("tld")
        if anchor.start() < covered_to or tld.lower() not in _TLD_SET or not (tld.islower() or tld.isupper()):
            continue
        check_time(detector="url.domain", chars=len(text))
        left = _HOST_LEFT.match(text, max(0, anchor.start() - 253), anchor.start())
        if left is None:
            continue
        start = left.start()
        while start < anchor.start() and not text[start].isalnum():
            start += 1
        if start == anchor.start() or (start > 0 and text[start - 1] == "@"):
            continue
        right = _HOST_RIGHT.match(text, anchor.end())
        end = _trim(text, start, right.end() if right else anchor.end())
        covered_to = end
        out.append(Finding(EntityKind.URL, start, end))
    return out


def _ip_literals(text: str) -> list[Finding]:
    out: list[Finding] = []
    for m in matches(_IPV4_LITERAL, text, detector="url.ipv4"):
        check_time(detector="url.ipv4", chars=len(text))
        host = m.group().split("/", 1)[0].split(":", 1)[0]
        if _VERSION_BEFORE.search(text, max(0, m.start() - 9), m.start()) or not _is_ip(host):
            continue
        out.append(Finding(EntityKind.URL, m.start(), _trim(text, m.start(), m.end())))
    if "[" in text:
        for m in matches(_IPV6_LITERAL, text, detector="url.ipv6"):
            check_time(detector="url.ipv6", chars=len(text))
            if _is_ip(m.group()[1 : m.group().index("]")]):
                out.append(Finding(EntityKind.URL, m.start(), _trim(text, m.start(), m.end())))
    return out


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def find_urls(text: str) -> list[Finding]:
    """URL findings (possibly overlapping; redact.py keeps the longest).

    >>> from server.guards.redact import Placeholders, redact
    >>> text = "see hxxps://evil[.]com/x and example.org."
    >>> redact(text, find_urls(text), Placeholders())
    'see [URL_1] and [URL_2].'
    """
    out: list[Finding] = []
    if "//" in text or "%" in text or "[:" in text:
        out += _scheme_urls(text)
    if "www" in text or "WWW" in text or "www" in text.lower():
        out += _www(text)
    if "." in text or "[dot]" in text or "(dot)" in text or "%2" in text:
        out += _bare_domains(text)
    if ("." in text or "[" in text) and has_digit(text):
        out += _ip_literals(text)
    return out


def _keep_posix(path: str) -> bool:
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 2:
        return True
    return bool(segments) and (segments[0] in _POSIX_ROOTS or "." in segments[0].strip("."))


def find_files(text: str) -> list[Finding]:
    """File-reference findings: `file:` URLs, absolute, home, traversal, Windows and UNC paths.

    >>> [text[f.start:f.end] for text in ["cat /etc/passwd now"] for f in find_files(text)]
    ['/etc/passwd']
    """
    if "/" not in text and "\\" not in text and "%" not in text:
        return []
    out: list[Finding] = []
    for name, needs, pattern in _FILE_PATTERNS:
        if not needs(text):
            continue
        for m in matches(pattern, text, detector=f"file.{name}"):
            check_time(detector=f"file.{name}", chars=len(text))
            if name == "posix" and not _keep_posix(m.group()):
                continue
            if name in ("fileurl", "unc"):
                end = _trim(text, m.start(), m.end())
            else:
                end = m.start() + len(m.group().rstrip(".,;:!?"))
            if end > m.start():
                out.append(Finding(EntityKind.FILE, m.start(), end))
    return out
