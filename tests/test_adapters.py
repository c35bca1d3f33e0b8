"""Adapters on a tiny random model: RAFT examples, training, saving, the card, the registry
(several adapters over one base, switched per request), merging, and reader decoding."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from ragcore.adapters.reader.abstain_head import AbstainHead, fit_head, last_token_states, roc_auc
from ragcore.adapters.reader.card import model_fingerprint
from ragcore.adapters.reader.decoding import ReaderConfig, Reading
from ragcore.adapters.reader.registry import AdapterInfo, AdapterRegistry, merge_adapter
from ragcore.adapters.reader.spans import Occurrence, answer_span, code_unit, occurrence
from ragcore.adapters.training.lora import TrainConfig, train_adapter
from ragcore.adapters.training.raft import gold_examples, raft_examples
from ragcore.adapters.training.thresholds import calibrate_threshold, cross_validated_f1
from ragcore.evals.data.squad import load_squad, split_articles
from tiny_models import fixture_words, squad_fixture, tiny_model

from ragcore.errors import ConfigError
from ragcore.prompting import ABSTAIN_REPLY, reader_messages
from ragcore.protocols import Generator
from ragcore.types import Passage, Prompt


@pytest.fixture(scope="module")
def squad_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("squad") / "tiny-squad.json"
    path.write_text(json.dumps(squad_fixture()))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("base") / "tiny-base", fixture_words())


def test_squad_loading_and_article_split(squad_file: Path, tmp_path: Path) -> None:
    articles = load_squad(squad_file)
    assert [a.title for a in articles] == ["Gateways", "Rivers"]
    train, held = split_articles(articles, ["Rivers"])
    assert [a.title for a in train] == ["Gateways"] and [a.title for a in held] == ["Rivers"]
    with pytest.raises(ConfigError, match="no article titled Nile"):
        split_articles(articles, ["Nile"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"paragraphs": [{"qas": []}]}]}')
    with pytest.raises(ConfigError, match="is not SQuAD JSON"):
        load_squad(bad)


def test_raft_examples_mix_distractors_and_abstentions(squad_file: Path) -> None:
    articles = load_squad(squad_file)
    gold = gold_examples(articles)
    assert len(gold) == 7 and sum(ex.answer is None for ex in gold) == 3
    by_id = {ex.id: ex for ex in gold}
    assert by_id["g1"].answer == "9000" and by_id["g1"].cited == 1
    mixed = raft_examples(articles, distractor_rate=1.0, drop_gold_rate=0.0, seed=1)
    two = [ex for ex in mixed if len(ex.passages) == 2]
    assert two  # every question whose article has another paragraph got a distractor
    for ex in two:
        if ex.answer is not None:
            assert ex.answer in ex.passages[ex.cited - 1][1]
            other = ex.passages[2 - ex.cited][1]
            assert ex.answer not in other  # distractors never hold the answer
    dropped = raft_examples(articles, distractor_rate=0.0, drop_gold_rate=1.0, seed=1)
    g1 = next(ex for ex in dropped if ex.id == "g1")
    assert g1.answer is None and "9000" not in g1.passages[0][1]


def test_the_prompt_numbers_titled_passages() -> None:
    passages = [("Gateways", "The gateway listens  on port 9000 ."), ("", "Second one .")]
    prompt = Prompt.from_pairs("Which port ?", passages)
    assert prompt.passages == (
        Passage("The gateway listens  on port 9000 .", "Gateways"),
        Passage("Second one ."),
    )
    user = reader_messages(prompt)[-1]["content"]
    assert "[1] (Gateways) The gateway listens on port 9000 .\n\n[2] Second one ." in user


def _train(base: Path, examples: list, out: Path, seed: int = 0) -> Path:
    config = TrainConfig(
        rank=4,
        alpha=8,
        learning_rate=3e-2,
        epochs=8,
        grad_accum=1,
        warmup_steps=0,
        seed=seed,
        save_dtype="float32",
    )
    result = train_adapter(
        base, "tiny-base", examples, out, config, data={"note": "fixture"}, quiet=True
    )
    assert result.examples == len(examples) and result.steps == 8 * len(examples)
    assert sum(result.losses[-3:]) < sum(result.losses[:3])  # it learned something
    return out


def test_batched_loss_equals_each_example_alone(base: Path, squad_file: Path) -> None:
    """Left padding with position ids must not change any example's loss."""
    import torch
    from ragcore.adapters.training.lora import _batch_loss, encode
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).eval()
    encoded = [encode(tokenizer, ex) for ex in gold_examples(load_squad(squad_file))[:4]]
    assert len({len(p) + len(r) for p, r in encoded}) > 1  # the batch really needs padding
    with torch.no_grad():
        together = _batch_loss(torch, model, encoded, tokenizer.pad_token_id, "cpu")
        alone = [
            float(_batch_loss(torch, model, [e], tokenizer.pad_token_id, "cpu")) for e in encoded
        ]
    assert together.tolist() == pytest.approx(alone, abs=1e-5)


def test_a_time_budget_stops_training_after_the_warm_up(
    base: Path, squad_file: Path, tmp_path
) -> None:
    examples = gold_examples(load_squad(squad_file))
    config = TrainConfig(rank=4, alpha=8, epochs=2, grad_accum=1, warmup_steps=2)
    full = train_adapter(base, "tiny-base", examples, tmp_path / "full", config, quiet=True)
    assert full.examples_seen == 2 * 7 and full.steps == 14
    budget = replace(config, max_seconds=1e-6)  # spent by the first step
    result = train_adapter(base, "tiny-base", examples, tmp_path / "cut", budget, quiet=True)
    assert (result.examples_seen, result.steps) == (2, 2)  # the warm-up, then no time left
    card = json.loads((tmp_path / "cut" / "training_card.json").read_text())
    assert card["training"]["examples_trained_on"] == 2 and card["training"]["examples"] == 7
    with pytest.raises(ConfigError, match="max_seconds"):
        TrainConfig(max_seconds=0)


def test_batched_training_takes_one_step_per_batch(base: Path, squad_file: Path, tmp_path) -> None:
    examples = gold_examples(load_squad(squad_file))
    config = TrainConfig(rank=4, alpha=8, epochs=2, grad_accum=1, batch_size=3, warmup_steps=0)
    result = train_adapter(base, "tiny-base", examples, tmp_path / "a", config, quiet=True)
    assert result.examples == 7 and result.steps == 2 * 3  # ceil(7 / 3) batches per epoch
    assert (
        json.loads((tmp_path / "a" / "training_card.json").read_text())["hyperparameters"][
            "batch_size"
        ]
        == 3
    )


@pytest.fixture(scope="module")
def two_adapters(base: Path, squad_file: Path, tmp_path_factory: pytest.TempPathFactory):
    """One adapter trained to answer every question, one trained to abstain on every one."""
    from dataclasses import replace

    gold = [ex for ex in gold_examples(load_squad(squad_file)) if ex.answer is not None]
    root = tmp_path_factory.mktemp("adapters")
    answerer = _train(base, gold, root / "answerer")
    abstainer = _train(
        base, [replace(ex, answer=None, cited=None) for ex in gold], root / "abstainer"
    )
    return answerer, abstainer


def test_training_writes_peft_files_and_a_card(base: Path, two_adapters) -> None:
    answerer, _ = two_adapters
    assert (answerer / "adapter_config.json").is_file()
    assert (answerer / "adapter_model.safetensors").is_file()
    card = json.loads((answerer / "training_card.json").read_text())
    assert card["base_model"] == {"name": "tiny-base", "sha256": model_fingerprint(base)}
    assert card["hyperparameters"]["rank"] == 4 and card["data"] == {"note": "fixture"}
    assert card["training"]["examples"] == 4 and card["training"]["abstain_targets"] == 0
    assert card["training"]["loss_last_10_steps"] < card["training"]["loss_first_10_steps"]
    peft_config = json.loads((answerer / "adapter_config.json").read_text())
    assert peft_config["r"] == 4 and peft_config["base_model_name_or_path"] == "tiny-base"


def test_registry_switches_adapters_per_request(base: Path, two_adapters, squad_file) -> None:
    answerer, abstainer = two_adapters
    registry = AdapterRegistry(base, "tiny-base")
    assert registry.load(answerer) == "answerer" and registry.load(abstainer) == "abstainer"
    assert registry.names == ["answerer", "abstainer"]
    ex = next(ex for ex in gold_examples(load_squad(squad_file)) if ex.id == "g1")
    messages = ex.prompt
    config = ReaderConfig(abstain_threshold=0.5)
    answer_gen = registry.reader("answerer", config)
    abstain_gen = registry.reader("abstainer", config)
    assert isinstance(answer_gen, Generator) and answer_gen.name == "tiny-base+answerer"
    first = answer_gen.reading(messages)
    refusal = abstain_gen.reading(messages)
    assert refusal.p_abstain > 0.5 > first.p_abstain
    assert abstain_gen.answer(messages).text == ABSTAIN_REPLY
    reply = answer_gen.answer(messages)
    assert reply.cited == (1,) and reply.answer in ex.passages[0][1]
    assert reply.draft == reply.answer
    assert reply.abstain_score == pytest.approx(first.abstain_score(config.score))
    again = answer_gen.reading(messages)  # switching back gives the same numbers
    assert again.p_abstain == pytest.approx(first.p_abstain, abs=1e-6)
    assert again.answer == first.answer
    bare = registry.reader(None, config).reading(messages)
    assert bare.p_abstain not in (pytest.approx(first.p_abstain), pytest.approx(refusal.p_abstain))


def test_merge_gives_the_same_model_as_base_plus_adapter(
    base: Path, two_adapters, squad_file: Path, tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    answerer, _ = two_adapters
    registry = AdapterRegistry(base, "tiny-base")
    registry.load(answerer)
    merged_dir = merge_adapter(base, answerer, tmp_path / "merged")
    assert (merged_dir / "training_card.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    ids = torch.tensor([[5, 9, 12, 7, 30, 4]])
    registry.model.set_adapter("answerer")
    with torch.inference_mode():
        want = registry.model(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    assert torch.allclose(want, got, atol=1e-5)


def test_adapter_on_the_wrong_base_is_refused(base: Path, two_adapters, tmp_path: Path) -> None:
    other = tiny_model(tmp_path / "other", fixture_words()[:10])
    registry = AdapterRegistry(other, "other")
    with pytest.raises(ConfigError, match="was trained on base tiny-base"):
        registry.load(two_adapters[0])
    with pytest.raises(ConfigError, match="not an adapter folder"):
        AdapterInfo.at(tmp_path)


def test_constrained_decoding_only_copies_passage_text(base: Path, squad_file: Path) -> None:
    registry = AdapterRegistry(base, "tiny-base")
    reader = registry.reader(None, ReaderConfig(abstain_threshold=None, max_answer_tokens=6))
    for ex in gold_examples(load_squad(squad_file)):
        reading = reader.reading(ex.prompt)
        assert 0.0 < reading.p_abstain < 1.0
        if reading.answer is not None:  # a random model still only copies passage words
            assert f" {reading.answer} " in f" {' '.join(ex.passages[0][1].split())} "
            assert reading.cited == 1


def test_spans_are_widened_to_whole_words() -> None:
    texts = ["It is long .", "so long ago"]
    assert answer_span("on", texts) == ("long", 1)
    assert answer_span("long ago", texts) == ("long ago", 2)
    assert answer_span("is lo", texts) == ("is long", 1)
    assert answer_span("absent", texts) == ("absent", None)
    assert answer_span("", texts) == ("", None)
    # a whole-word occurrence in a later passage wins over a cut one in an earlier passage
    assert occurrence("on", ["a long day", "on it"]) == Occurrence(2, 0, 2)
    assert occurrence("absent", texts) is None


def _unit(span: str, text: str) -> str:
    start = text.find(span)
    a, b = code_unit(text, start, start + len(span))
    return text[a:b]


def test_spans_in_inline_code_become_the_whole_unit() -> None:
    text = "Pass `--no-root` to skip it. Implement `poetry.plugins.ApplicationPlugin` interface."
    assert _unit("no-root", text) == "--no-root"  # inside a unit
    assert _unit("ApplicationPlugin` interface", text) == "poetry.plugins.ApplicationPlugin"
    assert _unit("Pass `--no", text) == "--no-root"  # cuts it with a backtick
    assert _unit("skip it", text) == "skip it"  # prose stays prose
    fenced = "```bash\npoetry install\n``` then `a b c d e f g h i` is a sample"
    assert _unit("poetry", fenced) == "poetry"  # a fence is not an inline unit
    assert _unit("c d", fenced) == "c d"  # nine words: a code sample, not a name
    texts = ["no code here", "use `{cache-dir}/virtualenvs` by default"]
    assert answer_span("cache-dir}/virtual", texts) == ("{cache-dir}/virtualenvs", 2)
    assert answer_span("absent", texts) == ("absent", None)
    # the unit is judged at the occurrence the answer stands for: "config" first occurs
    # inside "configuration" (prose), then whole, as a code unit of its own
    texts = ["The configuration is read first. Then run `config --list` to see it."]
    assert answer_span("config", texts) == ("config --list", 1)


def test_reading_reply_and_threshold_calibration() -> None:
    assert Reading("9000", 1, 0.2).reply(0.5) == "9000 [1]"
    assert Reading("9000", 1, 0.7).reply(0.5) == ABSTAIN_REPLY
    assert Reading("9000", 1, 0.7).reply(None) == "9000 [1]"
    assert Reading(None, None, 0.1).reply(0.5) == ABSTAIN_REPLY
    # Two answerable questions (F1 1.0 and 0.5) with low p_abstain, two unanswerable ones with
    # high p_abstain: any threshold in (0.3, 0.6] gets all right but the half-F1 answer, and
    # unsmoothed (window 0), ties go to the highest of those.
    args = ([0.1, 0.3, 0.6, 0.9], [1.0, 0.5, 0.0, 0.0], [True, True, False, False])
    threshold, f1 = calibrate_threshold(*args, window=0)
    assert threshold == 0.6 and f1 == pytest.approx((1.0 + 0.5 + 1 + 1) / 4)
    # On the grid 0.2 .. 1.0 the curve is 0.75, 0.875, 0.875, 0.625, 0.375. Averaged over one
    # step each side: 0.8125, 0.8333, 0.7917, 0.625, 0.5, so 0.4 is taken, not 0.6, whose
    # neighbour 0.8 answers an unanswerable question.
    grid = [0.2, 0.4, 0.6, 0.8, 1.0]
    assert calibrate_threshold(*args, grid=grid, window=0) == (0.6, pytest.approx(0.875))
    assert calibrate_threshold(*args, grid=grid, window=1) == (0.4, pytest.approx(0.875))
    with pytest.raises(ConfigError):
        calibrate_threshold([], [], [])
    with pytest.raises(ConfigError, match="window"):
        calibrate_threshold(*args, window=-1)


def test_cross_validated_f1_by_hand() -> None:
    # Paragraph A ranks right (answerable 0.1, unanswerable 0.9), B the other way round
    # (answerable 0.8, unanswerable 0.2). On both, the best in-sample threshold is in
    # (0.1, 0.2]: 3 of 4 right, F1 0.75.
    scores, f1 = [0.1, 0.9, 0.8, 0.2], [1.0, 0.0, 1.0, 0.0]
    ok, groups = [True, False, True, False], ["A", "A", "B", "B"]
    assert calibrate_threshold(scores, f1, ok, window=0)[1] == pytest.approx(0.75)
    # Chosen on B alone, every threshold scores 0.5 and the highest, 0.99, is kept: A then
    # answers both (1 + 0). Chosen on A alone, F1 is 1 for thresholds in (0.1, 0.9], and the
    # moving average over 3 steps each side peaks from 0.14 to 0.87; 0.87 is kept: B answers
    # both (1 + 0). Out of sample: (1 + 1) / 4.
    assert cross_validated_f1(scores, f1, ok, groups) == pytest.approx(0.5)
    assert cross_validated_f1(scores, f1, ok, ["A"] * 4) is None  # one paragraph: no folds


def test_roc_auc_by_hand() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered right
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5  # a tie counts half
    assert roc_auc([0.9, 0.1], [False, True]) == 0.0
    with pytest.raises(ConfigError, match="both classes"):
        roc_auc([0.1, 0.2], [True, True])


def test_abstain_head_fits_saves_and_loads(tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    x = torch.randn(200, 8)
    y = x[:, 2] + 0.5 * x[:, 5] > 0  # unanswerable when a direction is positive
    head = fit_head(x, y, layer=3, l2=1e-3)
    p = head.probability(x)
    assert roc_auc(p.tolist(), y.tolist()) > 0.99
    head.save(tmp_path)
    again = AbstainHead.load(tmp_path)
    assert again is not None and again.layer == 3 and again.l2 == 1e-3
    assert torch.allclose(again.probability(x), p)
    assert AbstainHead.load(tmp_path / "elsewhere") is None


def test_head_score_in_reading_matches_batched_hidden_states(
    base: Path, squad_file: Path, tmp_path: Path
) -> None:
    """The head sees the same hidden state when reading one prompt as when fitted on a
    left-padded batch."""
    import torch
    from ragcore.adapters.reader.decoding import AbstainScore, read
    from ragcore.adapters.reader.tokens import chat_prompt_ids
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).eval()
    examples = gold_examples(load_squad(squad_file))
    prompts = [chat_prompt_ids(tokenizer, reader_messages(e.prompt)) for e in examples]
    states = last_token_states(model, tokenizer, prompts, batch=4)
    assert states.shape[:2] == (len(examples), 3)  # embeddings + 2 layers
    labels = torch.tensor([e.answer is None for e in examples])
    head = fit_head(states[:, 2], labels, layer=2, l2=1e-2)
    config = ReaderConfig(abstain_threshold=0.5, score=AbstainScore.HEAD)
    for i in (0, 2, 5):
        texts = [t for _, t in examples[i].passages]
        reading = read(model, tokenizer, prompts[i], texts, config, head=head)
        assert reading.p_head == pytest.approx(float(head.probability(states[i, 2])), abs=1e-5)
        assert reading.abstain_score(AbstainScore.HEAD) == reading.p_head
    with pytest.raises(ConfigError, match="no abstain_head"):
        Reading("x", 1, 0.5, 0.5).abstain_score(AbstainScore.HEAD)
    # an answer verifier judges the decoded span; its verdict decides the streamed reply
    verified = ReaderConfig(abstain_threshold=0.5, score=AbstainScore.VERIFIER)
    judged: list[Reading] = []
    for verdict in (0.9, 0.1):
        sent: list[str] = []
        texts = [t for _, t in examples[0].passages]
        reading = read(
            model, tokenizer, prompts[0], texts, verified, on_token=sent.append,
            verify=lambda r, v=verdict: judged.append(r) or v,
        )  # fmt: skip
        if reading.answer is None:  # nothing decodable: no verdict needed
            assert reading.p_verify is None and judged == []
            continue
        assert reading.p_verify == verdict and judged[-1].answer == reading.answer
        assert "".join(sent) == reading.reply(0.5, AbstainScore.VERIFIER)
        assert (reading.reply(0.5, AbstainScore.VERIFIER) == ABSTAIN_REPLY) == (verdict >= 0.5)


def test_operating_points_and_the_card_record_by_hand() -> None:
    from ragcore.adapters.reader.decoding import AbstainScore
    from ragcore.adapters.training.calibration_record import (
        Calibration,
        HeadRecord,
        VerifierRecord,
    )
    from ragcore.adapters.training.thresholds import operating_point, score_figures

    # Two answerable (F1 1.0, 0.5) and two unanswerable questions. At 0.5 the answerable
    # ones answer (1.0 + 0.5) and the unanswerable at 0.6 and 0.9 abstain (1 + 1).
    scores, f1, ok = [0.1, 0.3, 0.6, 0.9], [1.0, 0.5, 0.0, 0.0], [True, True, False, False]
    point = operating_point(scores, f1, ok, 0.5)
    assert (point.f1, point.hasans_f1, point.noans_acc) == (87.5, 75.0, 100.0)
    low = operating_point(scores, f1, ok, 0.05)  # everything abstains
    assert (low.f1, low.hasans_f1, low.noans_acc) == (50.0, 0.0, 100.0)
    assert operating_point(scores[:2], f1[:2], ok[:2], 0.5).noans_acc is None
    figures = score_figures(scores, f1, ok, ["A", "A", "B", "B"])
    # p ranks both unanswerable above both answerable: AUC 1; failed answers are the two
    # unanswerable ones (0.5 is not below FAIL_F1), so the same.
    assert figures.auc == 1.0 and figures.auc_fails == 1.0 and figures.f1 == 87.5
    record = Calibration(
        score=AbstainScore.HEAD,
        point=point,
        scores={AbstainScore.HEAD: figures},
        articles=("Rivers",),
        questions=4,
        curve=(low, point),
        head=HeadRecord(17, 1.0, ("Gateways",), 0.9),
        verifier=VerifierRecord(skipped="too few paragraphs"),
    ).to_json()
    assert record["abstain_threshold"] == 0.5 and record["score"] == "head"
    assert (record["f1"], record["hasans_f1"], record["noans_acc"]) == (87.5, 75.0, 100.0)
    assert record["head"] == {"layer": 17, "l2": 1.0, "fitted_on": ["Gateways"], "auc": 0.9}
    assert record["verifier"] == {"skipped": "too few paragraphs"}
    assert record["scores"]["head"]["auc_fails"] == 1.0 and len(record["curve"]) == 2
    assert HeadRecord.from_json(record["head"]) == HeadRecord(17, 1.0, ("Gateways",), 0.9)
    json.dumps(record)  # the card is JSON


def test_a_precision_target_chooses_the_threshold_by_hand() -> None:
    from ragcore.adapters.training.calibration_record import PrecisionTarget
    from ragcore.adapters.training.thresholds import precision_curve, precision_target

    # two answerable questions (the first answered right), two unanswerable, 30 of each
    scores, f1, ok = [0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.2, 0.0], [True, False, True, False]
    scores30, f1_30, ok30 = scores * 30, f1 * 30, ok * 30
    # as sampled: answering below 0.2 gives 30 of 30 right (lower bound 0.917), below 0.3
    # 30 of 60
    plain = precision_target(scores30, f1_30, ok30, PrecisionTarget(0.7))
    assert plain.point is not None and plain.point.threshold == 0.2
    assert plain.point.coverage == pytest.approx(0.25) and plain.point.precision == 1.0
    assert plain.point.answered == 30
    # at 80% answerable an unanswerable answer weighs a quarter of an answerable one: below
    # 0.3 answers are right 0.8 of the time (lower bound 0.703 over 60), so 0.3 reaches 70%
    # with more coverage
    weighted = precision_target(scores30, f1_30, ok30, PrecisionTarget(0.7, 0.8))
    assert weighted.point is not None and weighted.point.threshold == 0.3
    assert weighted.point.precision == pytest.approx(0.8)
    assert weighted.point.coverage == pytest.approx(0.5)
    # one of each: 1 of 1 right is no evidence for 70%; the most supported point instead
    few = precision_target(scores, f1, ok, PrecisionTarget(0.7))
    assert few.point is None and few.closest is not None and few.closest.threshold == 0.2
    assert few.chosen == few.closest and few.to_json()["closest"]["answered"] == 1
    # the card's curve at 0, 0.05, ..., 1: at 0.25 the questions scored 0.1 and 0.2 answered
    curve = precision_curve(scores, f1, ok, 0.8)
    assert len(curve) == 21 and curve[0].coverage == 0.0 and curve[0].precision is None
    assert curve[5].threshold == 0.25 and curve[5].coverage == pytest.approx(0.5)
    assert curve[5].precision == pytest.approx(0.8)
    assert curve[20].precision == pytest.approx(0.4)  # all answered: 0.4 of 1.0
    assert precision_curve(scores, f1, ok)[20].precision == pytest.approx(0.25)  # as sampled
    record = weighted.to_json()
    assert record["reached"] and record["answerable_share"] == 0.8
    json.dumps(record)
    # nothing right: no threshold reaches any target, and the record says so
    missed = precision_target([0.1, 0.2], [0.0, 0.0], [True, False], PrecisionTarget(0.5))
    assert missed.point is None and not missed.to_json()["reached"]
    assert missed.closest is None and missed.chosen is None
    with pytest.raises(ConfigError, match="target precision 0 is not in"):
        PrecisionTarget(0)
    with pytest.raises(ConfigError, match=r"answerable share 1\.0 is not in"):
        PrecisionTarget(0.9, 1.0)


def test_serving_examples_put_the_paragraph_among_its_near_misses() -> None:
    from ragcore.adapters.training.raft import serving_examples
    from ragcore.evals.data.squad import Article, Question

    paragraphs = (
        "The gateway admin API uses port 9001.",  # 0: the answer
        "The gateway public API uses port 8443 for traffic.",  # 1: shares most words
        "Gateway logs rotate daily.",  # 2: shares one word
        "Invoices are sent monthly.",  # 3: shares none
        "Port 9001 is also listed in the admin guide for the gateway API.",  # 4: holds it too
    )
    question = Question("q1", "Which port does the gateway admin API use?", ("9001",), 0)
    article = Article("Lumen", paragraphs, (question,))
    (ex,) = serving_examples([article], passages=3, seed=0)
    texts = [t for _, t in ex.passages]
    assert sorted(texts) == sorted([paragraphs[0], paragraphs[1], paragraphs[2]])
    assert texts[ex.cited - 1] == paragraphs[0] and ex.answer == "9001"
    assert ex.paragraph == paragraphs[0]  # folds group by the question's own paragraph
    positions = {serving_examples([article], seed=s)[0].cited for s in range(20)}
    assert positions == {1, 2, 3}  # the gold paragraph moves
    (alone,) = serving_examples([article], passages=1)
    assert alone.passages == (("Lumen", paragraphs[0]),) and alone.cited == 1
    with pytest.raises(ConfigError, match="passages=0"):
        serving_examples([article], passages=0)
