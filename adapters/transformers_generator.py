"""Generators over local transformers causal LMs: any model directory, and the packaged
SmolLM2-135M-Instruct base. Greedy decoding; tokens stream through ``on_token``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.tokens import chat_prompt_ids

from ragcore.errors import PluginError
from ragcore.prompting import ChatAnswers


class TransformersGenerator(ChatAnswers):
    """A local causal LM directory (``config.json``, weights, tokenizer with a chat template)."""

    def __init__(
        self, path: str | Path, name: str | None = None, threads: int | None = None
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise PluginError(
                "the generator needs torch and transformers", "pip install 'ragcore[generate]'"
            ) from None
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise PluginError(
                f"{self.path} is not a transformers model directory (no config.json)",
                "pass a folder saved with save_pretrained",
            )
        if threads:
            torch.set_num_threads(threads)
        self.name = name or self.path.name
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
        self.model.eval()
        self._torch = torch

    def _input_ids(self, messages: Sequence[dict[str, str]]) -> Any:
        return self._torch.tensor([chat_prompt_ids(self.tokenizer, messages)])

    def complete(
        self,
        messages: Sequence[dict[str, str]],
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> str:
        """Greedy free text for chat ``messages`` (streamed through ``on_token``)."""
        from transformers.generation.streamers import BaseStreamer

        tokenizer = self.tokenizer

        class _Stream(BaseStreamer):
            """Decodes the growing reply and passes on only the new text."""

            def __init__(self) -> None:
                self.prompt_seen, self.ids, self.text = False, [], ""

            def put(self, value: Any) -> None:
                if not self.prompt_seen:  # the first call carries the prompt
                    self.prompt_seen = True
                    return
                self.ids += value.reshape(-1).tolist()
                text = tokenizer.decode(self.ids, skip_special_tokens=True)
                if (
                    on_token is not None
                    and len(text) > len(self.text)
                    and not text.endswith("\ufffd")
                ):
                    on_token(text[len(self.text) :])
                    self.text = text

            def end(self) -> None:
                pass

        ids = self._input_ids(messages)
        with self._torch.inference_mode():
            out = self.model.generate(
                ids,
                attention_mask=self._torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                streamer=_Stream() if on_token is not None else None,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def transformers_model(path: str | Path, threads: int | None = None) -> Any:
    """The ``transformers`` plugin: any local model folder. A folder with a
    ``reader_config.json`` (e.g. a merged adapter export) reads with span-constrained,
    calibrated decoding; any other generates freely."""
    from ragcore.adapters.reader.decoding import READER_CONFIG_FILE, ReaderConfig
    from ragcore.adapters.reader.registry import ReaderGenerator

    plain = TransformersGenerator(path, threads=threads)
    if not (plain.path / READER_CONFIG_FILE).is_file():
        return plain
    from ragcore.adapters.reader.abstain_head import AbstainHead
    from ragcore.adapters.reader.verifier import AnswerVerifier

    config, head = ReaderConfig.load(plain.path), AbstainHead.load(plain.path)
    verifier = AnswerVerifier.load(plain.path)
    return ReaderGenerator(
        plain.name, plain.model, plain.tokenizer, config, head=head, verifier=verifier
    )


def SmolLM2(adapter: str | Path | None = "default", threads: int | None = None) -> Any:
    """The ``smollm2-135m-instruct`` plugin: the packaged base (converted once to
    safetensors) with a reader adapter folded in (merged once, then cached), the shipped one
    by default; ``adapter=None`` or ``"none"`` gives the bare base model."""
    from ragcore.adapters.reader.base_model import BASE_NAME, base_model_dir
    from ragcore.adapters.reader.merged import merged_reader
    from ragcore.adapters.reader.registry import DEFAULT_ADAPTER

    if threads:
        import torch

        torch.set_num_threads(threads)
    if adapter is None or str(adapter).lower() == "none":
        return TransformersGenerator(base_model_dir(), name=BASE_NAME)
    chosen = DEFAULT_ADAPTER if adapter == "default" else adapter
    return merged_reader(base_model_dir(), BASE_NAME, chosen)
