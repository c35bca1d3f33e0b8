"""The extractive reader: the dequantized encoder, span choice, low-rank weights, training
labels, the recipe's command and the shipped span-reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ragcore.adapters.reader.bert_qa import DELTA_LEFT, DELTA_RIGHT, merged_weights
from ragcore.adapters.reader.extractive import (
    MAX_QUESTION_TOKENS,
    ExtractiveConfig,
    best_span,
    encoder_tokenizer,
    short_question,
    windows,
)
from ragcore.adapters.training.extractive import TrainSettings, low_rank_changes

from ragcore.errors import ConfigError, PluginError
from ragcore.types import Prompt

GATEWAY = "The gateway serves traffic on port 8080. Its admin API listens on port 9001."
BILLING = "Invoices are sent on the first day of each month by email."
RESET = "A password reset link stays valid for 30 minutes after it is sent."


def test_best_span_by_hand() -> None:
    start = np.array([5.0, 1.0, 3.0, 0.0, 2.0])
    end = np.array([5.0, 0.0, 1.0, 4.0, 0.5])
    offsets = [None, (0, 1), (2, 3), (4, 5), (6, 7)]
    # passage tokens 1..4; pairs i <= j < i + 2: (2,3) scores 3 + 4 = 7, the best
    assert best_span(start, end, offsets, longest=2) == (7.0, 2, 3)
    # spans of one token only: (2,2) 4, (3,3) 4, (4,4) 2.5, (1,1) 1: the first best
    assert best_span(start, end, offsets, longest=1) == (4.0, 2, 2)
    # [CLS] (no offsets) is never a span, whatever its logits
    assert best_span(start, end, [None] * 5, longest=3) is None


def test_spans_keep_their_currency_and_percent_signs() -> None:
    from ragcore.adapters.reader.extractive import with_units

    text = "Pro costs $8 a month; 5% off yearly; 18 users."
    assert text[slice(*with_units(text, 11, 12))] == "$8"
    assert text[slice(*with_units(text, 22, 23))] == "5%"
    assert text[slice(*with_units(text, 37, 39))] == "18"  # nothing to add
    assert with_units("$8", 0, 2) == (0, 2) and with_units("8%", 0, 2) == (0, 2)


def test_answers_are_whole_code_units_with_their_signs() -> None:
    from ragcore.adapters.reader.extractive import answer_bounds

    text = "The default branch is `main` here. Set `tool.poetry.build` to $18 or `50%`."

    def answer(span: str) -> str:
        at = text.index(span)
        return text[slice(*answer_bounds(text, at, at + len(span)))]

    assert answer("main` here") == "main"  # cuts a unit: the unit
    assert answer("poetry.build") == "tool.poetry.build"  # inside a unit: the whole unit
    assert answer("18") == "$18" and answer("50") == "50%"  # units' signs kept
    assert answer("default branch") == "default branch"  # prose stays as read


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="abstain_threshold"):
        ExtractiveConfig(abstain_threshold=1.5)
    with pytest.raises(ConfigError, match="stride"):
        ExtractiveConfig(max_length=128, stride=100)
    with pytest.raises(ConfigError, match="max_answer_tokens"):
        ExtractiveConfig(max_answer_tokens=0)
    with pytest.raises(ConfigError, match="rank"):
        TrainSettings(rank=0)


def test_low_rank_changes_keep_the_best_rank_r_change_by_hand() -> None:
    """A change of known singular values 3, 2, 1: rank 3 restores it exactly; rank 2 leaves
    exactly the smallest singular direction (Eckart-Young: error norm 1)."""
    gen = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(6, 3, generator=gen))
    v, _ = torch.linalg.qr(torch.randn(5, 3, generator=gen))
    change = u @ torch.diag(torch.tensor([3.0, 2.0, 1.0])) @ v.T
    packaged = {"w": np.arange(30, dtype=np.float32).reshape(6, 5), "b": np.zeros(6, np.float32)}
    trained = {"w": torch.from_numpy(packaged["w"]) + change, "b": torch.ones(6), "head": change}
    full = low_rank_changes(trained, packaged, 3)
    assert set(full) == {"w" + DELTA_LEFT, "w" + DELTA_RIGHT, "b", "head"}  # head: no packaged
    assert full["w" + DELTA_LEFT].shape == (6, 3) and full["w" + DELTA_RIGHT].shape == (3, 5)
    back = merged_weights(full, packaged)
    assert torch.allclose(back["w"], trained["w"], atol=1e-4)
    assert torch.equal(back["b"], trained["b"]) and torch.equal(back["head"], change)
    two = merged_weights(low_rank_changes(trained, packaged, 2), packaged)
    assert abs(float((two["w"] - trained["w"]).norm()) - 1.0) < 1e-4
    with pytest.raises(PluginError, match="incomplete"):
        merged_weights({"w" + DELTA_LEFT: full["w" + DELTA_LEFT]}, packaged)


def test_without_torch_the_reader_names_the_extra(monkeypatch, tmp_path: Path) -> None:
    import sys

    from ragcore.adapters.reader.extractive import ExtractiveReader

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(PluginError, match="span reader cannot be imported") as caught:
        ExtractiveReader(tmp_path)
    assert caught.value.hint == "pip install 'ragcore[generate]'"


@pytest.mark.slow
def test_windows_cover_a_long_passage_with_offsets_into_its_text() -> None:
    config = ExtractiveConfig(max_length=96, stride=16)
    tokenizer = encoder_tokenizer(config)
    text = " ".join(f"word{i}" for i in range(200)) + " The admin port is 9001."
    found = windows(tokenizer, "Which admin port?", ["short one", text])
    assert [w.passage for w in found][:1] == [0]
    long_ones = [w for w in found if w.passage == 1]
    assert len(long_ones) > 3 and all(len(w.ids) <= 96 for w in found)
    last = long_ones[-1]
    ends = [o[1] for o in last.offsets if o is not None]
    assert max(ends) == len(text)  # the passage is read to its end, offsets into its text
    first = next(o for o in long_ones[1].offsets if o is not None)
    assert text[first[0] : first[1]] == "word"  # a later window starts inside the text
    assert all(o is None for o in last.offsets[: last.types.index(1)])  # question: no offsets
    cut = short_question(tokenizer, "why " * 200)
    assert len(tokenizer.plain.encode(cut, add_special_tokens=False).ids) == MAX_QUESTION_TOKENS


@pytest.mark.slow
def test_dequantized_encoder_reproduces_the_onnx_cross_encoder() -> None:
    """The torch encoder built from the int8 ONNX, with the cross-encoder's own pooler and
    classifier on top, gives the ONNX model's relevance logits (up to activation
    quantization): a wrong weight name, transpose or scale would not."""
    from ragcore.adapters.reader.bert_qa import load_bert_qa, onnx_weights

    from ragcore.models.reranker import MsMarcoCrossEncoder

    model = load_bert_qa().eval()
    w = {k: torch.from_numpy(np.array(v)) for k, v in onnx_weights().items()}
    question = "which port does the admin api listen on"
    passages = [GATEWAY, "Bananas are a yellow fruit rich in potassium.", RESET]
    tokenizer = encoder_tokenizer(ExtractiveConfig())
    logits = []
    for p in passages:
        enc = tokenizer.pairs.encode(question, p)
        ids = torch.tensor([enc.ids])
        with torch.inference_mode():
            x = model.bert.embeddings(ids, torch.tensor([enc.type_ids]))
            bias = torch.zeros((1, 1, 1, len(enc.ids)))
            for layer in model.bert.encoder.layer:
                x = layer(x, bias)
            pooled = torch.tanh(
                x[0, 0] @ w["bert.pooler.dense.weight"].T + w["bert.pooler.dense.bias"]
            )
            logits.append(float(pooled @ w["classifier.weight"].T[:, 0] + w["classifier.bias"]))
    onnx = MsMarcoCrossEncoder().score(question, passages)
    assert np.allclose(logits, onnx, atol=0.25), (logits, onnx)
    assert logits[0] > 5 and logits[1] < -5


def _examples() -> list:
    from ragcore.adapters.training.raft import ReaderExample

    gateway, billing, reset = ("gateway", GATEWAY), ("billing", BILLING), ("accounts", RESET)
    return [
        ReaderExample(
            "a", "Which port does the admin API listen on?", (billing, gateway), "9001", 2
        ),
        ReaderExample("b", "How long is a reset link valid?", (reset, billing), "30 minutes", 1),
        ReaderExample(
            "c", "When are invoices sent?", (gateway, billing), "the first day of each month", 2
        ),
        ReaderExample("d", "Who founded the company?", (gateway, billing), None, None),
    ]


@pytest.mark.slow
def test_label_windows_mark_the_answer_tokens() -> None:
    from ragcore.adapters.training.extractive import label_windows

    tokenizer = encoder_tokenizer(ExtractiveConfig())
    for ex in _examples():
        labelled = label_windows(tokenizer, ex)
        assert len(labelled) == len(ex.passages)  # short passages: one window each
        found = windows(tokenizer, ex.question, [t for _, t in ex.passages])
        for w, lab in zip(found, labelled, strict=True):
            if ex.cited is not None and w.passage == ex.cited - 1:
                a, b = w.offsets[lab.start], w.offsets[lab.end]
                assert ex.passages[w.passage][1][a[0] : b[1]] == ex.answer
            else:
                assert (lab.start, lab.end) == (0, 0)  # no answer here: [CLS]


@pytest.mark.slow
def test_training_saves_a_reader_that_answers_cites_and_abstains(tmp_path: Path) -> None:
    from ragcore.adapters.reader.bert_qa import onnx_weights
    from ragcore.adapters.reader.extractive import WEIGHTS_FILE, ExtractiveReader
    from ragcore.adapters.training.extractive import train_extractive
    from safetensors.torch import load_file, save_file

    examples = _examples()
    settings = TrainSettings(epochs=25, lr=3e-4, batch_size=4, layers=2, warmup=0.05, rank=None)
    losses: list[float] = []
    run = train_extractive(
        examples * 2, tmp_path, settings, on_step=lambda s, n, loss: losses.append(loss)
    )
    assert run["steps"] == run["planned_steps"] and losses[-1] < losses[0] / 4
    reader = ExtractiveReader(tmp_path)
    for ex in examples:
        reply = reader.answer(ex.prompt)
        if ex.answer is None:
            assert reply.abstained and reply.abstain_score is not None
            assert reply.abstain_score >= 0.5
        else:
            assert (reply.answer, reply.cited) == (ex.answer, (ex.cited,)), reply
            assert reply.draft == ex.answer and reply.draft_cited == ex.cited
    # the same weights as full-rank changes read the same
    full = load_file(str(tmp_path / WEIGHTS_FILE))
    low = low_rank_changes({k: v.float() for k, v in full.items()}, onnx_weights(), 384)
    assert any(k.endswith(DELTA_LEFT) for k in low)
    save_file({k: v.half().contiguous() for k, v in low.items()}, str(tmp_path / WEIGHTS_FILE))
    again = ExtractiveReader(tmp_path)
    for ex in examples:
        before, after = reader.answer(ex.prompt), again.answer(ex.prompt)
        assert (after.answer, after.cited) == (before.answer, before.cited)
        assert after.abstain_score == pytest.approx(before.abstain_score, abs=0.02)


@pytest.mark.slow
def test_shipped_span_reader_answers_the_demo_questions(demo_index) -> None:
    """Through ``ask`` over the demo docs, as ``ragcore demo`` asks: the answers are spans of
    the passages they cite, and the question the docs do not answer is abstained on."""
    from ragcore.ask import ask
    from ragcore.cli.ask import DEMO_ASK
    from ragcore.plugins import load_generator

    reader = load_generator("extractive")
    assert reader.name == "span-reader" and reader.config.abstain_threshold == 0.65
    port, price, reset, helm = (ask(demo_index, reader, q) for q in DEMO_ASK)
    assert port.text == "9001" and reset.text == "30 minutes", (port, reset)
    for answer in (port, reset):
        (cited,) = answer.citations
        assert answer.text in answer.hits[cited.n - 1].chunk.text
    assert helm.abstained and not helm.citations
    assert price.abstained or "18" in (price.text or "")
    assert reader.answer(Prompt("anything?", ())).abstained  # nothing to read


def test_adapters_list_shows_the_default_span_reader(tmp_path: Path, capsys) -> None:
    from ragcore.cli import main

    assert main(["adapters", "list", "--index", str(tmp_path / "none"), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    span = rows["span-reader"]
    assert span["default"] and span["generator"] == "extractive"
    assert span["calibration"]["abstain_threshold"] == 0.65 and span["held_out"]["f1"] > 0
    assert not rows["squad2-reader"]["default"]
    assert rows["squad2-reader"]["generator"] == "smollm2-135m-instruct"
    assert main(["adapters", "list"]) == 0
    table = capsys.readouterr().out
    assert table.count("(default)") == 1 and table.index("span-reader") < table.index("(default)")


@pytest.mark.slow
def test_cli_train_extractive_writes_a_low_rank_reader(
    docs_dir: Path, tmp_path: Path, capsys
) -> None:
    from ragcore.adapters.reader.extractive import CONFIG_FILE, WEIGHTS_FILE, ExtractiveReader
    from safetensors.torch import load_file

    from ragcore.cli import main

    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    gold = tmp_path / "gold.jsonl"
    rows = [
        {
            "id": "a",
            "question": "How long is a password reset link valid?",
            "answers": ["30 minutes"],
            "source": "authentication.md",
        },
        {"id": "b", "question": "Which rover landed on Mars in 2021?", "answers": []},
    ]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "reader"
    args = ["adapters", "train-extractive", "--questions", str(gold), "--index", str(index)]
    args += ["--out", str(out), "--synthetic", "4", "--epochs", "1", "--batch-size", "8"]
    assert main([*args, "--rank", "8", "--threshold", "0.7", "-q"]) == 0
    printed = capsys.readouterr()
    assert "synthesized" in printed.out and "Warning" not in printed.err
    tensors = load_file(str(out / WEIGHTS_FILE))
    left = tensors["bert.encoder.layer.0.attention.self.query.weight" + DELTA_LEFT]
    assert left.shape == (384, 8) and "qa_outputs.weight" in tensors
    assert json.loads((out / CONFIG_FILE).read_text())["abstain_threshold"] == 0.7
    reply = ExtractiveReader(out).answer(Prompt.from_pairs("Which port?", [("g", GATEWAY)]))
    assert reply.abstain_score is not None  # it reads
    assert main([*args, "--questions", str(gold), "-q"]) == 2
    assert "2 --questions for 1 --index" in capsys.readouterr().err
