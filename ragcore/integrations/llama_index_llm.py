"""ragcore's reader as a LlamaIndex LLM (``pip install 'ragcore[llama-index]'``).

    from ragcore.integrations.llama_index_llm import RagcoreLLM
    engine = RetrieverQueryEngine.from_args(retriever, llm=RagcoreLLM())  # packaged reader

LlamaIndex hands an LLM one text prompt; the packaged reader reads numbered passages and a
question. ``prompt_of`` reads them back from LlamaIndex's own question-answering templates
(the default text QA and refine templates, and ``CitationQueryEngine``'s "Source N:" blocks):
the context between the template's dashed fences, split at each node's metadata header (or
"Source N:"), and the query. A prompt in no known shape is passed whole as the question with
no passages, so the reader abstains; a chat generator (``openai``) answers it as it is.
"""

from __future__ import annotations

import re
from typing import Any

from ragcore.integrations.common import need
from ragcore.plugins import DEFAULT_GENERATOR
from ragcore.types import Passage, Prompt

need("llama_index.core", "llama-index")

from llama_index.core.bridge.pydantic import PrivateAttr  # noqa: E402
from llama_index.core.llms import (  # noqa: E402
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402

_FENCED = re.compile(r"\n-{6,}\n(?P<context>.*)\n-{6,}\n", re.DOTALL)
_QUERY = re.compile(r"(?:^|\n)Query: (?P<q>.*?)(?:\nAnswer:|\Z)", re.DOTALL)
_ORIGINAL = re.compile(r"The original query is as follows: (?P<q>[^\n]*)")
_SOURCE = re.compile(r"^Source \d+:\n", re.MULTILINE)
_HEADER = re.compile(r"^(title|source|heading_path): (?P<value>.*)$")


def _passages(context: str) -> tuple[Passage, ...]:
    """Nodes as LlamaIndex joins them: ``Source N:`` blocks, or "key: value" metadata
    headers each followed by the node's text (blocks separated by blank lines)."""
    if _SOURCE.search(context):
        blocks = [b.strip() for b in _SOURCE.split(context) if b.strip()]
        return tuple(_titled(b) for b in blocks)
    passages: list[list[str]] = []
    for block in context.split("\n\n"):
        lines = block.strip().splitlines()
        if lines and all(_HEADER.match(line) for line in lines):
            passages.append([block.strip()])
        elif passages:
            passages[-1].append(block)
        else:
            passages.append([block])
    return tuple(_titled("\n\n".join(p)) for p in passages if "".join(p).strip())


def _titled(block: str) -> Passage:
    """A passage whose metadata header (if any) gives its title."""
    head, _, body = block.partition("\n\n")
    lines = head.splitlines()
    if body and lines and all(_HEADER.match(line) for line in lines):
        values = {m[1]: m["value"] for line in lines if (m := _HEADER.match(line))}
        return Passage(body.strip(), values.get("heading_path") or values.get("title") or "")
    return Passage(block.strip())


def prompt_of(text: str) -> Prompt:
    """The question and passages of a LlamaIndex question-answering prompt."""
    fenced = _FENCED.search(text)
    queries = list(_QUERY.finditer(text))  # the last: templates show a worked example first
    asked = _ORIGINAL.search(text) or (queries[-1] if queries else None)
    if fenced is None or asked is None:
        return Prompt(text.strip())
    return Prompt(asked["q"].strip(), _passages(fenced["context"]))


class RagcoreLLM(CustomLLM):
    """A LlamaIndex ``CustomLLM`` over any ragcore generator: by default the packaged reader
    (``DEFAULT_GENERATOR``), loaded on first use. Its completion is the
    reply as ragcore shows it: ``answer [n]`` citing the prompt's passages, or "I don't
    know."."""

    generator_name: str = DEFAULT_GENERATOR
    model: str | None = None
    adapter: str = "default"
    max_new_tokens: int = 48
    _generator: Any = PrivateAttr(default=None)

    def __init__(self, generator: Any = None, **data: Any) -> None:
        super().__init__(**data)
        self._generator = generator

    @property
    def generator(self) -> Any:
        if self._generator is None:
            from ragcore.plugins import load_generator

            self._generator = load_generator(self.generator_name, self.model, adapter=self.adapter)
        return self._generator

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=2048, num_output=self.max_new_tokens, model_name=self.generator.name
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        reply = self.generator.answer(prompt_of(prompt), self.max_new_tokens)
        return CompletionResponse(text=reply.text, raw={"reply": reply})

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        pieces: list[str] = []
        reply = self.generator.answer(prompt_of(prompt), self.max_new_tokens, pieces.append)
        text = ""
        for piece in pieces or [reply.text]:
            text += piece
            yield CompletionResponse(text=text, delta=piece)
