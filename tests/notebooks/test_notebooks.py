"""Each notebook runs top to bottom (offline, against the scripted upstream) and prints its key outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"

EXPECTED = {
    "01_quickstart.ipynb": [
        "EXFILTRATION: Tool call to 'send_email' is denied by argument checking policies.",
        "LEGITIMATE: All done.",
        "sent: ['boss@corp.com']",
        "COMPILED DENIED: Tool call to 'send_summary' is denied by argument checking policies.",
        "COMPILED OK: {",
    ],
    "02_sqrt_tour.ipynb": [
        "mail.sqrt: ok",
        "attacker@evil.com -> hard_denied",
        "boss@corp.com -> allowed",
        "2 passed, 0 failed",
        "LIVE: Tool call to 'send_email' is denied by argument checking policies.",
    ],
    "03_dual_llm.ipynb": [
        "the server asks us to run: read_inbox",
        "STATUS: success",
        'parse_with_ai(query=f"Which city',
        "city ",
        "RESULT: Meeting in Paris",
    ],
}


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_outputs_are_stripped_in_git() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code"), path.name
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_offline(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # offline: the scripted upstream plays the LLMs
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    output = text_of(nb)
    for expected in EXPECTED[name]:
        assert expected in output, f"{name}: missing {expected!r} in\n{output}"
