"""A randomly initialised 2-layer Llama with a word-level tokenizer and a chat template: it
exercises generation, training, adapters and merging in seconds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ragcore.prompting import ABSTAIN_REPLY, SYSTEM

BASE_WORDS = ["port", "gateway", "the", "is", "9000", "reset", "minutes", "question", "answer"]


def words_of(texts: Iterable[str]) -> list[str]:
    return sorted({w for t in texts for w in t.split()})


def tiny_model(folder: Path, extra_words: Iterable[str] = ()) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    numbers = [f"[{n}]" for n in range(1, 6)]
    words = dict.fromkeys([*BASE_WORDS, *numbers, *words_of([SYSTEM, ABSTAIN_REPLY]), *extra_words])
    words.pop("", None)
    specials = ["<unk>", "<pad>", "<s>", "</s>"]
    vocab = {w: i for i, w in enumerate([*specials, *(w for w in words if w not in specials)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}answer {% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
        # The default 0.02 caps every logit near 0.6 after the final RMSNorm, so no adapter
        # could make any reply likely; a wider init gives the tiny model a usable output range.
        initializer_range=0.4,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def squad_fixture() -> dict:
    """Two small SQuAD 2.0 articles: answerable and unanswerable questions."""

    def qa(qid: str, question: str, answer: str | None) -> dict:
        if answer is None:
            return {
                "id": qid,
                "question": question,
                "is_impossible": True,
                "answers": [],
                "plausible_answers": [{"text": "x", "answer_start": 0}],
            }
        return {
            "id": qid,
            "question": question,
            "is_impossible": False,
            "answers": [{"text": answer, "answer_start": 0}],
        }

    return {
        "version": "v2.0",
        "data": [
            {
                "title": "Gateways",
                "paragraphs": [
                    {
                        "context": "The gateway listens on port 9000 . Resets take ten minutes .",
                        "qas": [
                            qa("g1", "Which port does the gateway use ?", "9000"),
                            qa("g2", "How long does a reset take ?", "ten minutes"),
                            qa("g3", "Who built the gateway ?", None),
                        ],
                    },
                    {
                        "context": "Billing runs monthly . The Pro plan costs twelve dollars .",
                        "qas": [
                            qa("g4", "What does the Pro plan cost ?", "twelve dollars"),
                            qa("g5", "When was billing invented ?", None),
                        ],
                    },
                ],
            },
            {
                "title": "Rivers",
                "paragraphs": [
                    {
                        "context": "The Seine flows through Paris . It is long .",
                        "qas": [
                            qa("r1", "Which city does the Seine flow through ?", "Paris"),
                            qa("r2", "What colour is the Seine ?", None),
                        ],
                    }
                ],
            },
        ],
    }


def fixture_words() -> list[str]:
    data = squad_fixture()["data"]
    texts = [p["context"] for a in data for p in a["paragraphs"]]
    texts += [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    texts += [a["title"] for a in data]
    return [w for w in words_of(texts) if not re.fullmatch(r"\s*", w)]
