"""Access groups end to end: per-source groups, changes of who may see a document, the CLI's
--group and `ragcore sync` over the sources of ragcore.toml."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragcore import Index
from ragcore.cli import main
from ragcore.errors import ConfigError
from ragcore.sources import SourceSpec

pytestmark = pytest.mark.slow


def _folder(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / f"{name}.md").write_text(f"# {name.title()}\n\n{text}\n")
    return folder


def _visible(index: Index, groups: list[str] | None) -> set[str]:
    hits = index.search("lumen gateway salary vpn", k=10, groups=groups).hits
    return {Path(h.chunk.source).stem for h in hits}


def test_source_groups_and_a_change_of_groups_are_applied(tmp_path: Path) -> None:
    public = _folder(tmp_path, "public", "The Lumen gateway listens on port 8443.")
    hr = _folder(tmp_path, "salaries", "Salary reviews happen in March.")
    with Index.open(tmp_path / "idx", create=True) as index:
        index.ingest([str(public), SourceSpec(str(hr), access=("hr",))], quiet=True)
        assert _visible(index, None) == {"public", "salaries"}
        assert _visible(index, []) == {"public"}
        assert _visible(index, ["sales"]) == {"public"}
        assert _visible(index, ["hr"]) == {"public", "salaries"}
        hit = index.search("salary", k=1, groups=["hr"]).hits[0]
        assert hit.chunk.metadata["access"] == ["hr"]

        # same bytes, new groups: the documents are re-written with the new access
        r = index.ingest([SourceSpec(str(hr), access=("hr", "finance"))], quiet=True)
        assert (r.changed, r.unchanged) == (1, 0)
        assert _visible(index, ["finance"]) == {"public", "salaries"}
        # a re-sync that names no groups keeps the source's (it used to make it public)
        r = index.ingest([str(hr)], quiet=True)
        assert (r.changed, r.unchanged) == (0, 1) and _visible(index, []) == {"public"}
        assert _visible(index, ["finance"]) == {"public", "salaries"}
        r = index.ingest([SourceSpec(str(hr), public=True)], quiet=True)  # public, explicitly
        assert r.changed == 1 and _visible(index, []) == {"public", "salaries"}
        r = index.ingest([str(hr)], quiet=True)  # and it stays so
        assert r.unchanged == 1 and _visible(index, []) == {"public", "salaries"}
    with pytest.raises(ConfigError, match="given access groups and made public at once"):
        SourceSpec(str(hr), access=("hr",), public=True)


def test_the_cli_keeps_a_sources_groups_across_ingests_and_rebuilds(tmp_path: Path, capsys) -> None:
    hr = _folder(tmp_path, "salaries", "Salary reviews happen in March.")
    index = str(tmp_path / "idx")

    def public_hits() -> set[str]:
        assert main(["search", "salary reviews", "--index", index, "--group", "", "--json"]) == 0
        return {Path(h["source"]).stem for h in json.loads(capsys.readouterr().out)["hits"]}

    assert main(["ingest", str(hr), "--index", index, "--access", "hr", "-q"]) == 0
    for again in (["ingest", str(hr)], ["ingest", str(hr), "--rebuild"]):
        assert main([*again, "--index", index, "-q"]) == 0
        capsys.readouterr()
        assert public_hits() == set()  # still private
    assert main(["ingest", str(hr), "--index", index, "--public", "-q"]) == 0
    capsys.readouterr()
    assert public_hits() == {"salaries"}
    code = main(["ingest", str(hr), "--index", index, "--public", "--access", "hr"])
    assert code == 2 and "made public at once" in capsys.readouterr().err


def test_cli_group_flag_and_sync_from_ragcore_toml(tmp_path: Path, capsys) -> None:
    public = _folder(tmp_path, "public", "The Lumen gateway listens on port 8443.")
    ops = _folder(tmp_path, "ops", "Connect to the VPN with the lumen-vpn client.")
    (tmp_path / "ragcore.toml").write_text(
        f'index_dir = "{tmp_path / "idx"}"\n\n'
        f'[[sources]]\nuri = "{public}"\n\n'
        f'[[sources]]\nuri = "{ops}"\naccess = ["ops"]\n'
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["sync", "--dry-run", "--json"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["added"] == 2 and plan["dry_run"] and not (tmp_path / "idx").exists()
        assert main(["sync", "--json", "-q"]) == 0
        assert json.loads(capsys.readouterr().out)["added"] == 2
        (ops / "ops.md").unlink()
        assert main(["sync", "--json", "-q"]) == 0
        assert json.loads(capsys.readouterr().out)["deleted"] == 1
        (ops / "ops.md").write_text("# Ops\n\nThe VPN client is lumen-vpn.\n")
        assert main(["sync", "-q"]) == 0
        capsys.readouterr()
        for flags, expected in (([], {"public", "ops"}), (["--group", ""], {"public"})):
            assert main(["search", "vpn gateway", "--json", *flags]) == 0
            hits = json.loads(capsys.readouterr().out)["hits"]
            assert {Path(h["source"]).stem for h in hits} == expected
        (tmp_path / "ragcore.toml").write_text(  # a source that is gone does not stop the rest
            (tmp_path / "ragcore.toml").read_text()
            + f'\n[[sources]]\nuri = "{tmp_path / "gone"}"\n'
        )
        assert main(["sync", "--json", "-q"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["unchanged"] == 2 and report["deleted"] == 0
        assert [s["source"] for s in report["skipped"]] == [str(tmp_path / "gone")]
        assert main(["ingest", str(ops), "-o", "colour=blue"]) == 2
        assert "takes no option colour" in capsys.readouterr().err
    finally:
        os.chdir(cwd)


def test_sources_table_needs_a_uri(tmp_path: Path) -> None:
    from ragcore.config import Settings

    (tmp_path / "ragcore.toml").write_text("[[sources]]\naccess = ['x']\n")
    with pytest.raises(ConfigError, match="has no uri"):
        Settings.load(tmp_path / "ragcore.toml")
    (tmp_path / "ragcore.toml").write_text("[[sources]]\nuri = 'docs'\npublic = 'yes'\n")
    with pytest.raises(ConfigError, match=r"public = 'yes' .* is not a boolean"):
        Settings.load(tmp_path / "ragcore.toml")
