"""``awsrespond hunt`` on log files from the command line: no credentials, JSON contract, bad input,
hostile strings, and the case's stored events on a second run."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import jsonschema

from awsrespond.emulator.cloudtrail import delivery_key
from awsrespond.schemas import shipped
from awsrespond.timeutil import coerce_instant, iso
from tests.test_hunt_sessions import Story

HOSTILE = "[/bold][red]pwned[link=http://x]\x1b[31m\x1b]8;;http://evil\x07"
NO_AWS = {"AWS_PROFILE": "does-not-exist", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
          "AWS_ENDPOINT_URL": "http://198.51.100.1:9", "COLUMNS": "200"}


def awsrespond(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **NO_AWS}
    return subprocess.run([sys.executable, "-m", "awsrespond", "hunt", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300, check=False)


def _logs(tmp_path: Path, seed: int) -> tuple[Story, Path]:
    story = Story(seed)
    story.build()
    for record in story.records:
        if record["eventName"] == "CreateUser":
            record["userAgent"] = HOSTILE
            record["requestParameters"]["userName"] = story.new_user
    root = tmp_path / "logs"
    by_key: dict[str, list[dict[str, object]]] = {}
    for record in story.records:
        key = delivery_key(story.account, str(record["awsRegion"]), _when(record), rng=story.rng)
        by_key.setdefault(key, []).append(record)
    for key, records in by_key.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    (root / "AWSLogs" / "broken.json.gz").write_bytes(gzip.compress(b'{"Records": [{"eventName": "x"}')[:-9])
    (root / "AWSLogs" / "not-trail.json").write_text(json.dumps({"hello": "world"}))
    return story, root


def _when(record: dict[str, object]) -> datetime:
    instant = coerce_instant(record["eventTime"])
    assert instant is not None
    return instant


def test_hunt_files_without_credentials_json_contract(tmp_path: Path) -> None:
    story, logs = _logs(tmp_path, 17)
    case = tmp_path / "case"
    result = awsrespond(str(logs), "--since", iso(story.since) or "", "--format", "json", "--case", str(case),
                        cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    document = json.loads(result.stdout)  # stdout is only the JSON document
    jsonschema.validate(document, shipped("hunt"))
    assert len(document["sessions"]) == 1
    session = document["sessions"][0]
    assert session["started_from"] == story.ci_key
    assert {"type": "AWS::IAM::User", "id": story.new_user} in [
        {"type": r["type"], "id": r["id"]} for r in session["created"]]
    assert any("broken.json.gz" in e for e in document["errors"])
    assert any("not-trail.json" in e for e in document["errors"])
    assert all(f["count"] and f["event_ids"] for f in document["findings"] if f["rule"] != "hunt-created-by-attacker")
    assert (case / "hunt.json").exists() and (case / "findings.json").exists()
    assert "Window" in result.stderr

    strict = awsrespond(str(logs), "--since", iso(story.since) or "", "--format", "json", "--case", str(case),
                        "--strict", cwd=tmp_path)
    assert strict.returncode == 3, strict.stderr[-2000:]
    again = json.loads(strict.stdout)
    # The second run reads only what the case's store does not hold: the damaged files again.
    assert again["stats"]["records_read"] == 0
    assert again["stats"]["events"] == document["stats"]["events"]
    assert [s["id"] for s in again["sessions"]] == [s["id"] for s in document["sessions"]]


def test_hunt_text_shows_the_timeline_and_prints_hostile_strings_inertly(tmp_path: Path) -> None:
    story, logs = _logs(tmp_path, 23)
    result = awsrespond(str(logs), "--since", iso(story.since) or "", "--case", str(tmp_path / "c"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    out = result.stdout
    assert "ATTACKER SESSION" in out and story.ci_key in out
    assert out.index("ATTACKER SESSION") < out.index("CRITICAL")  # the timeline comes first
    assert "CreateUser" in out and story.new_user in out
    assert "\x1b" not in out and "\x07" not in out
    assert not re.search(r"\x1b|\x9b", result.stderr)


def test_hunt_usage_errors(tmp_path: Path) -> None:
    missing = awsrespond(str(tmp_path / "nope"), "--format", "json", "--case", str(tmp_path / "c"), cwd=tmp_path)
    assert missing.returncode == 0, missing.stderr  # nothing read, nothing found; the path is named
    assert "no such file" in json.loads(missing.stdout)["errors"][0]
    bad_since = awsrespond(str(tmp_path), "--since", "yesterday-ish", cwd=tmp_path)
    assert bad_since.returncode == 2
    assert "Traceback" not in bad_since.stderr
