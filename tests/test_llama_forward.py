"""adapters.reader.llama, the packaged reader's plain-torch forward pass, against transformers'
own LlamaForCausalLM and tokenizer on the real packaged base and the shipped adapter: same
prompt ids, logits and hidden states within 1e-4, the KV cache (one token, several tokens,
crop) consistent with a full pass, the same decoded text, the same readings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ragcore.types import Passage, Prompt

pytestmark = pytest.mark.slow

PROMPT = Prompt(
    "What port does the gateway admin API use?",
    (
        Passage(
            "The gateway serves traffic on port 8443. Its admin API uses port 9001.", "Gateway"
        ),
        Passage("Invoices are sent on the first day of the month.", "Billing"),
    ),
)


@pytest.fixture(scope="module")
def pair():
    import torch
    from ragcore.adapters.reader.base_model import base_model_dir
    from ragcore.adapters.reader.llama import load_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = base_model_dir()
    ours = load_model(folder)
    assert ours is not None, "the packaged base is a plain Llama"
    theirs = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return ours, (theirs, AutoTokenizer.from_pretrained(folder))


def test_tokenizer_matches_transformers(pair) -> None:
    from ragcore.adapters.reader.tokens import chat_prompt_ids

    from ragcore.prompting import reader_messages

    (_, tok), (_, htok) = pair
    messages = reader_messages(PROMPT)
    assert chat_prompt_ids(tok, messages) == chat_prompt_ids(htok, messages)
    assert tok.eos_token_id == htok.eos_token_id and tok.pad_token_id == htok.pad_token_id
    assert set(tok.all_special_ids) == set(htok.all_special_ids)
    for text in ["I don't know.", "port 9001 [1]", " café, naïve — 9001", "a\nb  c"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert ids == htok(text, add_special_tokens=False)["input_ids"]
        with_end = [*ids, tok.eos_token_id]
        for skip in (True, False):
            assert tok.decode(with_end, skip_special_tokens=skip) == htok.decode(
                with_end, skip_special_tokens=skip
            )


def test_forward_and_cache_match_transformers(pair) -> None:
    import torch
    from ragcore.adapters.reader.tokens import chat_prompt_ids

    from ragcore.prompting import reader_messages

    (model, tok), (theirs, _) = pair
    ids = torch.tensor([[*chat_prompt_ids(tok, reader_messages(PROMPT)), 28, 1030, 30]])
    with torch.inference_mode():
        ours = model(input_ids=ids, output_hidden_states=True)
        ref = theirs(input_ids=ids, output_hidden_states=True)
        assert (ours.logits - ref.logits).abs().max() < 1e-4
        assert len(ours.hidden_states) == len(ref.hidden_states) == 31
        for a, b in zip(ours.hidden_states, ref.hidden_states, strict=True):
            assert (a - b).abs().max() < 1e-4
        # The cache: the prompt, then one token, then two at once, equal the full pass; a crop
        # goes back to the prompt and the same continuation gives the same logits again.
        n = ids.shape[1] - 3
        cache = model.new_cache()
        model(input_ids=ids[:, :n], cache=cache)
        one = model(input_ids=ids[:, n : n + 1], cache=cache).logits
        two = model(input_ids=ids[:, n + 1 :], cache=cache).logits
        full = ours.logits
        assert (one[0, -1] - full[0, n]).abs().max() < 1e-4
        assert (two[0] - full[0, n + 1 :]).abs().max() < 1e-4
        cache.crop(-3)
        assert cache.length() == n
        again = model(input_ids=ids[:, n:], cache=cache).logits
        assert (again[0] - full[0, n:]).abs().max() < 1e-4


def test_readings_match_transformers(pair) -> None:
    from ragcore.adapters.reader.decoding import ReaderConfig, read
    from ragcore.adapters.reader.tokens import chat_prompt_ids

    from ragcore.prompting import reader_messages

    (model, tok), (theirs, htok) = pair
    config = ReaderConfig()
    passages = [p.text for p in PROMPT.passages]
    ours = read(model, tok, chat_prompt_ids(tok, reader_messages(PROMPT)), passages, config)
    ref = read(theirs, htok, chat_prompt_ids(htok, reader_messages(PROMPT)), passages, config)
    assert (ours.answer, ours.cited) == (ref.answer, ref.cited)
    assert ours.p_abstain == pytest.approx(ref.p_abstain, abs=1e-4)
    assert ours.p_answer == pytest.approx(ref.p_answer, abs=1e-4)


def test_the_packaged_reader_answers_without_importing_transformers() -> None:
    """Once the shipped adapter is merged (its first use, which needs peft), a new process
    answers with the plain-torch Llama: no transformers, no peft. The merge is made here so the
    check does not depend on which test warmed the cache first."""
    from ragcore.adapters.reader.base_model import base_model_dir
    from ragcore.adapters.reader.merged import merged_model
    from ragcore.adapters.reader.registry import DEFAULT_ADAPTER, resolve

    merged_model(base_model_dir(), resolve(DEFAULT_ADAPTER))
    code = f"""
import json, sys
from ragcore.plugins import load_generator
from ragcore.types import Passage, Prompt
reply = load_generator("smollm2-135m-instruct").answer({PROMPT!r})
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"transformers", "peft"}})
print(json.dumps({{"draft": reply.draft, "heavy": heavy}}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["heavy"] == [] and "9001" in (result["draft"] or "")
