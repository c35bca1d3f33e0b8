from __future__ import annotations

from pathlib import Path

import pytest

from ragcore.config import (
    Fusion,
    IndexConfig,
    SearchConfig,
    SearchMode,
    Settings,
)
from ragcore.errors import ConfigError, IncompatibleIndexError


def test_parse_mode() -> None:
    assert SearchConfig.parse_mode("hybrid+rerank") == (SearchMode.HYBRID, True)
    assert SearchConfig.parse_mode("bm25") == (SearchMode.BM25, False)
    with pytest.raises(ConfigError, match="mode"):
        SearchConfig.parse_mode("fuzzy")
    with pytest.raises(ConfigError, match="suffix"):
        SearchConfig.parse_mode("dense+magic")


def test_strings_become_enums_and_bad_values_are_named() -> None:
    cfg = SearchConfig(mode="dense", fusion="rrf")  # type: ignore[arg-type]
    assert cfg.mode is SearchMode.DENSE and cfg.fusion is Fusion.RRF
    with pytest.raises(ConfigError, match="fusion"):
        SearchConfig(fusion="borda")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="chunk_overlap"):
        IndexConfig(chunk_size=64, chunk_overlap=64)


def test_toml_settings(tmp_path: Path) -> None:
    path = tmp_path / "ragcore.toml"
    path.write_text(
        'index_dir = "idx"\n[index]\nchunk_size = 128\n[search]\nmode = "bm25"\nrrf_k = 5\n'
    )
    s = Settings.load(path)
    assert s.index_dir == Path("idx") and s.index.chunk_size == 128 and s.index_explicit
    assert s.search.mode is SearchMode.BM25 and s.search.rrf_k == 5
    path.write_text("[search]\nmodee = 1\n")
    with pytest.raises(ConfigError, match="modee"):
        Settings.load(path)
    path.write_text("[search\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(path)


def test_index_config_round_trip_and_version_check(tmp_path: Path) -> None:
    cfg = IndexConfig(chunk_size=100, chunk_overlap=10)
    cfg.save(tmp_path, dim=384)
    loaded, dim = IndexConfig.load(tmp_path)
    assert loaded == cfg and dim == 384
    text = (
        (tmp_path / "ragcore.json")
        .read_text()
        .replace('"format_version": 1', '"format_version": 99')
    )
    (tmp_path / "ragcore.json").write_text(text)
    with pytest.raises(IncompatibleIndexError, match="format version 99"):
        IndexConfig.load(tmp_path)
    assert cfg.differences(IndexConfig()) == [
        "chunk_size: index has 100, requested 128",
        "chunk_overlap: index has 10, requested 16",
    ]


def test_weights_need_rrf() -> None:
    SearchConfig(fusion=Fusion.RRF, dense_weight=2.0)
    with pytest.raises(ConfigError, match="RRF fusion only"):
        SearchConfig(fusion=Fusion.DBSF, sparse_weight=2.0)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\x00\xff\xfe binary \x89PNG", "not a text file"),
        (b"index = 5\n", "index = 5 is not a table"),
        (b'store = "x"\n', "store = 'x' is not a table"),
        (b"[store]\nlock_wait_s = -1\n", "lock_wait_s"),
    ],
)
def test_unreadable_config_files_are_named(tmp_path: Path, content: bytes, named: str) -> None:
    path = tmp_path / "ragcore.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=named):
        Settings.load(path)


@pytest.mark.parametrize(
    ("content", "named", "fix"),
    [
        ('[search]\nrerank = "false"\n', '[search] rerank = "false" is not true or false',
         "write rerank = false"),
        ('[index]\nchunk_size = "big"\n', "chunk_size = \"big\" is not a whole number",
         "write chunk_size = 128"),
        ("[store]\ntimeout = true\n", "timeout = true is not a number", "timeout = 30.0"),
        ("[store]\nurl = 5\n", "url = 5 is not a string", "or leave it out"),
        ("[search]\nmode = 5\n", "mode = 5 is not one of 'bm25', 'dense', 'hybrid'",
         'write mode = "hybrid"'),
    ],
)  # fmt: skip
def test_setting_types_are_checked(tmp_path: Path, content: str, named: str, fix: str) -> None:
    path = tmp_path / "ragcore.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        Settings.load(path)
    assert named in caught.value.message and fix in caught.value.hint


def test_whole_numbers_are_numbers_and_optional_settings_take_values(tmp_path: Path) -> None:
    path = tmp_path / "ragcore.toml"
    path.write_text('[search]\nfusion = "rrf"\ndense_weight = 2\n[store]\nshard_number = 2\n')
    s = Settings.load(path)
    assert s.search.dense_weight == 2 and s.store.shard_number == 2


def _toml_example(doc: str, tmp_path: Path) -> Settings:
    text = (Path(__file__).parent.parent / doc).read_text()
    start = text.index("```toml\nindex_dir") + len("```toml\n")
    (tmp_path / "ragcore.toml").write_text(text[start : text.index("```", start)])
    return Settings.load(tmp_path / "ragcore.toml")


def test_the_configuration_examples_load(tmp_path: Path) -> None:
    full = _toml_example("docs/configuration.md", tmp_path)  # every setting, at its default
    assert full.serve.max_queue == 8 and full.store.lock_wait_s == 10
    assert full.search.rerank is False and full.ask.passages == 3
    short = _toml_example("README.md", tmp_path)
    assert short.ask.passages == 3 and short.search.mode == full.search.mode


def test_environment_variables_set_any_setting_over_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "ragcore.toml"
    toml.write_text('[store]\nurl = "http://file:6333"\n[search]\nmode = "bm25"\n')
    env = {
        "RAGCORE_STORE_API_KEY": "secret-from-env",
        "RAGCORE_SEARCH_MODE": "dense",
        "RAGCORE_SEARCH_RERANK": "true",
        "RAGCORE_SERVE_CORS_ORIGINS": "https://a.example, https://b.example",
        "RAGCORE_ASK_PASSAGES": "5",
        "RAGCORE_ASK_MIN_RERANK_SCORE": "1.5",
        "RAGCORE_INDEX_DIR": str(tmp_path / "idx"),
        "RAGCORE_THREADS": "2",  # not a setting: left alone
    }
    s = Settings.load(toml, environ=env)
    assert s.store.api_key == "secret-from-env" and s.store.url == "http://file:6333"
    assert s.search.mode is SearchMode.DENSE and s.search.rerank is True
    assert s.serve.cors_origins == ("https://a.example", "https://b.example")
    assert s.ask.passages == 5 and s.ask.min_rerank_score == 1.5
    assert s.index_dir == tmp_path / "idx" and not s.index_explicit
    assert Settings.load(toml, environ={}).store.api_key is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RAGCORE_SEARCH_RERANK": "maybe"}, "RAGCORE_SEARCH_RERANK='maybe' is not true or false"),
        ({"RAGCORE_ASK_PASSAGES": "three"}, "RAGCORE_ASK_PASSAGES='three' is not a whole number"),
        ({"RAGCORE_STORE_APIKEY": "x"}, "RAGCORE_STORE_APIKEY is not a setting"),
        ({"RAGCORE_ASK_GUARD": "loud"}, "invalid [ask] guard 'loud'"),
    ],
)
def test_bad_environment_values_name_the_variable(tmp_path: Path, env: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(None, environ=env)
    assert named in caught.value.message
    assert caught.value.hint


def test_the_ask_section_is_typed_and_checked(tmp_path: Path) -> None:
    toml = tmp_path / "ragcore.toml"
    toml.write_text('[ask]\npassages = 4\nguard = "flag"\nmode = "bm25"\n')
    s = Settings.load(toml, environ={})
    assert (s.ask.passages, s.ask.guard.value, s.ask.mode) == (4, "flag", "bm25")
    toml.write_text("[ask]\npassages = 0\n")
    with pytest.raises(ConfigError, match=r"\[ask\] passages = 0 is not >= 1"):
        Settings.load(toml, environ={})
    toml.write_text('[ask]\nmode = "fuzzy"\n')
    with pytest.raises(ConfigError, match="mode"):
        Settings.load(toml, environ={})
