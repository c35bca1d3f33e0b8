"""The example third-party connector under examples/ is pip-installed (offline, into a
folder the test puts on the path) and found through its entry point by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ragcore-notes-connector"


def test_installed_example_connector_is_listed_and_syncs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--no-build-isolation", "--target", str(site), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    }

    def ragcore(*argv: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "ragcore.cli", *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    plugins = ragcore("plugins", "--json")
    notes = [p for p in plugins if p["name"] == "notes"]
    assert notes == [
        {
            "group": "ragcore.connectors",
            "name": "notes",
            "target": "ragcore_notes:NotesConnector",
            "distribution": "ragcore-notes-connector",
            "version": "0.1.0",
        }
    ]

    path = tmp_path / "notes.json"

    def note(i: int, text: str, groups: tuple[str, ...] = ()) -> dict:
        return {"id": f"n{i}", "title": f"Note {i}", "text": text, "groups": list(groups)}

    path.write_text(
        json.dumps(
            [
                note(1, "The Lumen gateway listens on port 8443."),
                note(2, "On-call engineers rotate every Monday.", ["ops"]),
                note(3, "Quarterly planning starts in January."),
            ]
        )
    )
    source = f"notes://{path}"
    index = ["--index", str(tmp_path / "idx"), "--json", "-q"]
    assert ragcore("ingest", source, *index)["added"] == 3
    path.write_text(
        json.dumps(
            [
                note(1, "The Lumen gateway now listens on port 9443."),
                note(2, "On-call engineers rotate every Monday.", ["ops"]),
            ]
        )
    )
    r = ragcore("ingest", source, *index)
    assert (r["changed"], r["deleted"], r["unchanged"]) == (1, 1, 1)
    hits = ragcore("search", "on-call rotation", "--group", "", *index[:3])["hits"]
    assert [h["metadata"]["title"] for h in hits] == ["Note 1"]
    assert "9443" in hits[0]["text"]
