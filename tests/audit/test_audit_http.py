"""GET /control/v1/sessions/{id}/audit and `sequrity-control audit`: the owner's key only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from server.app import create_app
from server.cli import main
from server.fake_upstream import FakeUpstream, Reply
from server.keys import KeyStore
from server.loopback import LoopbackServer
from server.settings import Settings
from tests.conftest import KEY, OTHER_KEY, gateway_settings

CHAT = "/control/chat/openai/v1/chat/completions"


@dataclass
class Running:
    url: str
    app: FastAPI
    settings: Settings

    def owner_id(self, secret: str) -> str:
        keys = KeyStore(self.settings.database_url)
        try:
            record = keys.authenticate(secret)
            assert record is not None
            return record.id
        finally:
            keys.close()


@pytest.fixture(scope="module")
def running(fake_upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    settings = gateway_settings(fake_upstream_server, tmp_path_factory.mktemp("audit"))
    app = create_app(settings)
    server = LoopbackServer(app, timeout_graceful_shutdown=1).start()
    try:
        yield Running(server.url, app, settings)
    finally:
        server.stop()


def get_audit(running: Running, sid: str, key: str) -> httpx.Response:
    return httpx.get(f"{running.url}/control/v1/sessions/{sid}/audit", headers={"Authorization": f"Bearer {key}"})


def test_owner_reads_records_others_get_the_same_404_as_unknown(running: Running) -> None:
    sid = str(uuid.uuid4())
    owner = running.owner_id(KEY)
    running.app.state.audit.record(
        session_id=sid, owner=owner, tool="send_email", verdict="hard_denied", fired=["r1"],
        arguments={"to": "x"},
    )
    mine = get_audit(running, sid, KEY)
    assert mine.status_code == 200
    (record,) = mine.json()["records"]
    assert (record["tool"], record["verdict"], record["owner"]) == ("send_email", "hard_denied", owner)
    assert record["fired"] == [{"rule": "r1", "line": None, "description": None}]
    assert record["arguments"] is None  # SEQURITY_CONTROL_AUDIT_VALUES is off
    foreign = get_audit(running, sid, OTHER_KEY)
    unknown_id = str(uuid.uuid4())
    unknown = get_audit(running, unknown_id, OTHER_KEY)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(sid, "ID") == unknown.json()["detail"].replace(unknown_id, "ID")
    assert foreign.json()["error"]["code"] == "session_not_found"
    assert get_audit(running, sid, "sqc_nobody_0123456789abcdefghijkl").status_code == 401


def test_a_live_session_without_decisions_is_an_empty_list_for_its_owner(
    running: Running, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("m", Reply.text("hi"))
    headers = {
        "Authorization": f"Bearer {KEY}",
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": 5}}),
    }
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    sid = httpx.post(f"{running.url}{CHAT}", json=body, headers=headers).headers["x-session-id"]
    assert get_audit(running, sid, KEY).json() == {"session_id": sid, "records": []}
    assert get_audit(running, sid, OTHER_KEY).status_code == 404


def test_cli_prints_a_sessions_records(
    running: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = str(uuid.uuid4())
    running.app.state.audit.record(
        session_id=sid, owner="key_cli", tool="read_file", verdict="allowed", fired=[]
    )
    assert get_audit(running, sid, KEY).status_code == 404  # flushes; not KEY's session
    monkeypatch.setenv("SEQURITY_CONTROL_DATABASE_URL", running.settings.database_url)
    assert main(["audit", "--session", sid]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith("\tkey_cli\tread_file\tallowed\t-")
    assert main(["audit", "--session", sid, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tool"] == "read_file"
    assert main(["audit", "--session", str(uuid.uuid4())]) == 1
    assert "no audit records" in capsys.readouterr().err
