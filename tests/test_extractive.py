"""The extractive reader: the dequantized encoder, span choice, training labels, the reader."""

from __future__ import annotations

import numpy as np
import pytest
from ragcore.adapters.reader.extractive import (
    MAX_QUESTION_TOKENS,
    ExtractiveConfig,
    best_span,
    encoder_tokenizer,
    short_question,
    windows,
)

from ragcore.errors import ConfigError


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


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="abstain_threshold"):
        ExtractiveConfig(abstain_threshold=1.5)
    with pytest.raises(ConfigError, match="stride"):
        ExtractiveConfig(max_length=128, stride=100)
    with pytest.raises(ConfigError, match="max_answer_tokens"):
        ExtractiveConfig(max_answer_tokens=0)


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
    long_question = "why " * 200
    cut = short_question(tokenizer, long_question)
    assert len(tokenizer.plain.encode(cut, add_special_tokens=False).ids) == MAX_QUESTION_TOKENS


@pytest.mark.slow
def test_dequantized_encoder_reproduces_the_onnx_cross_encoder() -> None:
    """The torch encoder built from the int8 ONNX, with the cross-encoder's own pooler and
    classifier on top, gives the ONNX model's relevance logits (up to activation
    quantization): a wrong weight name, transpose or scale would not."""
    import torch
    from ragcore.adapters.reader.bert_qa import load_bert_qa, onnx_weights

    from ragcore.models.reranker import MsMarcoCrossEncoder

    model = load_bert_qa().eval()
    w = {k: torch.from_numpy(v) for k, v in onnx_weights().items()}
    question = "which port does the admin api listen on"
    passages = [
        "The admin API listens on port 9001.",
        "Bananas are a yellow fruit rich in potassium.",
        "Traffic is served on port 8080; the admin API is on 9001.",
    ]
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

    gateway = ("gateway", "The gateway serves traffic on port 8080. Its admin API listens on 9001.")
    billing = ("billing", "Invoices are sent on the first day of each month by email.")
    reset = ("accounts", "A password reset link stays valid for 30 minutes after it is sent.")
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
def test_training_saves_a_reader_that_answers_cites_and_abstains(tmp_path) -> None:
    from ragcore.adapters.reader.extractive import WEIGHTS_FILE, ExtractiveReader
    from ragcore.adapters.training.extractive import TrainSettings, train_extractive

    examples = _examples()
    settings = TrainSettings(epochs=25, lr=3e-4, batch_size=4, layers=2, warmup=0.05)
    losses: list[float] = []
    run = train_extractive(
        examples * 2, tmp_path, settings, on_step=lambda s, n, loss: losses.append(loss)
    )
    assert run["steps"] == run["planned_steps"] and losses[-1] < losses[0] / 4
    assert (tmp_path / WEIGHTS_FILE).is_file()
    reader = ExtractiveReader(tmp_path)
    for ex in examples:
        reply = reader.answer(ex.prompt)
        if ex.answer is None:
            assert (
                reply.abstained and reply.abstain_score is not None and reply.abstain_score >= 0.5
            )
        else:
            assert (reply.answer, reply.cited) == (ex.answer, (ex.cited,)), reply
            assert reply.draft == ex.answer and reply.draft_cited == ex.cited


def test_precision_threshold_by_hand() -> None:
    from ragcore.adapters.training.thresholds import precision_threshold

    scores = [0.1, 0.2, 0.3, 0.4, 0.5]
    correct = [True, True, False, False, False]
    answerable = [True, True, True, False, False]
    # pi = 3/5. Abstaining at >= 0.3 answers the two right ones: coverage 0.4, precision 1.
    # At >= 0.4 the wrong answerable one joins (0.6, 2/3); at >= 0.5 an unanswerable one
    # (0.8, 1/2); past the top everything (1.0, 0.4).
    t, p, c = precision_threshold(scores, correct, answerable, 0.9)
    assert (t, p, round(c, 9)) == (0.3, 1.0, 0.4)
    t, p, c = precision_threshold(scores, correct, answerable, 0.6)
    assert (t, round(p, 9), round(c, 9)) == (0.4, round(2 / 3, 9), 0.6)
    t, p, c = precision_threshold(scores, correct, answerable, 0.5)
    assert (t, round(p, 9), round(c, 9)) == (0.5, 0.5, 0.8)
    # A deployment where 9 questions in 10 are answerable: everything answered scores
    # 0.9 x 2/3 = 0.6 precision at full coverage.
    t, p, c = precision_threshold(scores, correct, answerable, 0.59, answerable_share=0.9)
    assert (t, round(p, 9), c) == (1.5, 0.6, 1.0)
    assert precision_threshold(scores, [False] * 5, answerable, 0.5) is None
    with pytest.raises(ConfigError, match="target precision"):
        precision_threshold(scores, correct, answerable, 1.5)
