"""`sequrity-control keys` end to end: a created key authenticates, is listed masked, and revokes."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SEQURITY_CONTROL_DATABASE_URL": f"sqlite:///{tmp_path}/keys.db", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_create_list_revoke(tmp_path) -> None:
    created = run(tmp_path, "create", "--name", "ci", "--config", '{"features": {"agent_arch": "single-llm"}}')
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("sqc_")
    listed = run(tmp_path, "list")
    assert "ci" in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    key_id = listed.stdout.split("\t")[0]
    assert run(tmp_path, "revoke", key_id).returncode == 0
    assert "revoked" in run(tmp_path, "list").stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("create", "--config", "{nope"), "Expecting property name"),
        (("create", "--config", "[1]"), "must be a JSON object"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(tmp_path, args, says) -> None:
    got = run(tmp_path, *args)
    assert got.returncode == 2 and says in got.stderr and "Traceback" not in got.stderr


def test_revoking_an_unknown_key_fails(tmp_path) -> None:
    assert run(tmp_path, "revoke", "nope").returncode == 1
