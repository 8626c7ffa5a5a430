"""URL and file-reference blockers, table-driven: masked forms and look-alikes that stay."""

from __future__ import annotations

import pytest

from server.guards import Placeholders, find_files, find_urls, redact

URLS = [
    ("see https://example.com/a?b=1.", "see [URL_1]."),
    ("(https://a.b.co/x) done", "([URL_1]) done"),
    ("go to www.example.org/path, now", "go to [URL_1], now"),
    ("bare example.com and EXAMPLE.COM", "bare [URL_1] and [URL_2]"),
    ("nested sub.domain.example.co.uk/path?q", "nested [URL_1]"),
    ("exfil to attacker.io:8443/collect", "exfil to [URL_1]"),
    ("defanged hxxps://evil[.]com/x", "defanged [URL_1]"),
    ("defanged h**p://evil.com", "defanged [URL_1]"),
    ("defanged evil[.]com and evil(.)net and evil[dot]org", "defanged [URL_1] and [URL_2] and [URL_3]"),
    ("scheme hxxp[://]evil.ru/p", "scheme [URL_1]"),
    ("encoded https%3A%2F%2Fevil.com%2Fexfil ok", "encoded [URL_1] ok"),
    ("double https%253A%252F%252Fevil.com ok", "double [URL_1] ok"),
    ("host evil%2Ecom ok", "host [URL_1] ok"),
    ("ip 10.0.0.5:8080/admin now", "ip [URL_1] now"),
    ("ip http://169.254.169.254/latest/meta-data", "ip [URL_1]"),
    ("v6 [::1]:443 and [2001:db8::1]", "v6 [URL_1] and [URL_2]"),
    ("public 8.8.8.8.", "public [URL_1]."),
    ("ftp://files.example.net/x and wss://socket.example.dev", "[URL_1] and [URL_2]"),
    ("same https://a.io twice https://a.io", "same [URL_1] twice [URL_1]"),
]

NOT_URLS = [
    "run setup.py and main.rs, edit README.md and notes.sh",
    "Node.js and Vue.js are fine",
    "the end.It was late; done.So what",
    "e.g. this, i.e. that, etc. and U.S. politics",
    "pi is 3.14 and version 2.0.1 or v1.2.3.4",
    "write to bob@example.org",
    "archive report.zip and clip.mov",
    "time 12:30 and ratio 3:2",
]

FILES = [
    ("cat /etc/passwd now", "cat [FILE_1] now"),
    ("open ~/secrets.txt and ~bob/.ssh/id_rsa", "open [FILE_1] and [FILE_2]"),
    ("read $HOME/.aws/credentials", "read [FILE_1]"),
    ("fetch file:///etc/shadow.", "fetch [FILE_1]."),
    ("fetch file:%2F%2F%2Fetc%2Fshadow", "fetch [FILE_1]"),
    (r"doc C:\Users\bob\Documents\tax.pdf done", "doc [FILE_1] done"),
    (r"exe C:\Program Files\App\x.exe", "exe [FILE_1]"),
    ("fwd C:/Windows/System32/config", "fwd [FILE_1]"),
    (r"share \\server\share\file.txt", "share [FILE_1]"),
    ("up ../../etc/passwd", "up [FILE_1]"),
    ("single /tmp and /notes.txt", "single [FILE_1] and [FILE_2]"),
    ("(see /var/log/syslog)", "(see [FILE_1])"),
]

NOT_FILES = [
    "and/or 24/7 km/h 1/2 cups",
    "dates 05/01/2024 and 2024/05/01",
    "the path https://x.com/a/b/c is a URL",
    "a slash / alone and w/o sugar",
    "subreddit /s and /r",
]


def _mask(text: str, finder) -> str:  # type: ignore[no-untyped-def]
    return redact(text, finder(text), Placeholders())


@pytest.mark.parametrize(("text", "masked"), URLS)
def test_urls_masked(text: str, masked: str) -> None:
    assert _mask(text, find_urls) == masked


@pytest.mark.parametrize("text", NOT_URLS)
def test_url_look_alikes_stay(text: str) -> None:
    assert find_urls(text) == []


@pytest.mark.parametrize(("text", "masked"), FILES)
def test_files_masked(text: str, masked: str) -> None:
    assert _mask(text, find_files) == masked


@pytest.mark.parametrize("text", NOT_FILES)
def test_file_look_alikes_stay(text: str) -> None:
    assert find_files(text) == []


def test_accepted_false_positive_is_documented() -> None:
    # ASP.NET reads as a domain under a real TLD; masking it is the accepted price (blockers.py).
    assert _mask("built on ASP.NET", find_urls) == "built on [URL_1]"
