"""Adapter registry: find adapters, load several over one base model in one process, switch
per request, and merge one into the base for export.

An adapter is a folder with peft's ``adapter_config.json`` + ``adapter_model.safetensors``, a
``training_card.json`` (whose base fingerprint must match the base it is loaded on) and
optionally a ``reader_config.json``, an ``abstain_head.safetensors`` and an
``abstain_verifier.json``. Adapters are found
in the ones shipped with ragcore, in ``$RAGCORE_CACHE/adapters/`` and in folders passed by
path.
"""

from __future__ import annotations

import shutil
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.abstain_head import HEAD_FILE, AbstainHead
from ragcore.adapters.reader.base_model import READER_INSTALL, cache_root
from ragcore.adapters.reader.candidates import AnswerCandidates, choose, draft_candidate
from ragcore.adapters.reader.card import CARD_FILE, model_fingerprint, read_card
from ragcore.adapters.reader.decoding import (
    READER_CONFIG_FILE,
    AbstainScore,
    Chooser,
    ReaderConfig,
    Reading,
    read,
)
from ragcore.adapters.reader.evidence import relevance
from ragcore.adapters.reader.tokens import chat_prompt_ids
from ragcore.adapters.reader.verifier import VERIFIER_FILE, AnswerVerifier, feature_values

from ragcore.errors import ConfigError, PluginError
from ragcore.prompting import reader_messages
from ragcore.protocols import Reply
from ragcore.types import Prompt

SHIPPED = Path(__file__).resolve().parent.parent / "shipped"  # adapters/shipped/
DEFAULT_ADAPTER = "squad2-reader"


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    path: Path
    base: str
    base_sha256: str
    card: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def at(cls, path: str | Path) -> AdapterInfo:
        path = Path(path)
        if not (path / "adapter_config.json").is_file():
            raise ConfigError(
                f"{path} is not an adapter folder (no adapter_config.json)",
                "pass a folder written by ragcore adapters train, or a name from "
                "ragcore adapters list",
            )
        card = read_card(path)
        base = card.get("base_model", {})
        return cls(path.name, path, base.get("name", "?"), base.get("sha256", ""), card)


def discover(extra: Iterable[str | Path] = ()) -> list[AdapterInfo]:
    """Shipped adapters, then those under ``$RAGCORE_CACHE/adapters``, then ``extra`` folders."""
    found: dict[str, AdapterInfo] = {}
    roots = [SHIPPED, cache_root() / "adapters"]
    for root in roots:
        for folder in sorted(root.glob("*")) if root.is_dir() else []:
            if (folder / "adapter_config.json").is_file() and (folder / CARD_FILE).is_file():
                found.setdefault(folder.name, AdapterInfo.at(folder))
    for path in extra:
        info = AdapterInfo.at(path)
        found[info.name] = info
    return list(found.values())


def resolve(name_or_path: str | Path) -> AdapterInfo:
    """An adapter by folder path, or by name among the discovered ones."""
    if Path(name_or_path).is_dir():
        return AdapterInfo.at(name_or_path)
    known = {info.name: info for info in discover()}
    if str(name_or_path) not in known:
        raise ConfigError(
            f"no adapter named {name_or_path!r}",
            f"known: {', '.join(known) or 'none'}; or pass an adapter folder",
        )
    return known[str(name_or_path)]


class ReaderGenerator:
    """A ``Generator`` that reads with ``adapters.decoding``: calibrated abstention, then a
    span copied from a passage and cited. ``use`` prepares the model for this reader (selects
    its adapter) and is called under the registry's lock."""

    def __init__(
        self,
        name: str,
        model: Any,
        tokenizer: Any,
        config: ReaderConfig,
        lock: threading.Lock | None = None,
        use: Callable[[], Any] | None = None,
        head: AbstainHead | None = None,
        verifier: AnswerVerifier | None = None,
    ) -> None:
        self.name, self.model, self.tokenizer, self.config = name, model, tokenizer, config
        self.head, self.verifier = head, verifier
        self._lock = lock or threading.Lock()
        self._use = use

    def derived(
        self, *, head: AbstainHead | None, verifier: AnswerVerifier | None
    ) -> ReaderGenerator:
        """A reader over the same model, config and lock with the ``head`` and ``verifier``
        given (None: without). Calibration reads with a new head this way and leaves the
        reader it was given as it was."""
        return ReaderGenerator(
            self.name,
            self.model,
            self.tokenizer,
            self.config,
            self._lock,
            self._use,
            head,
            verifier,
        )

    def reading(
        self,
        prompt: Prompt,
        *,
        config: ReaderConfig | None = None,
        decode_when_abstaining: bool = True,
        on_token: Callable[[str], None] | None = None,
    ) -> Reading:
        """The full reading (abstention probability and span), for calibration and eval."""
        passages = [p.text for p in prompt.passages]
        ids = chat_prompt_ids(self.tokenizer, reader_messages(prompt))
        config = config or self.config
        verifier, question = self.verifier, prompt.question
        # A full reading (calibration, eval) reports every score; a reply needs the
        # verifier's cross-encoder pass only when the verifier decides.
        wanted = decode_when_abstaining or config.score is AbstainScore.VERIFIER
        verify = (
            None
            if verifier is None or not wanted
            else lambda r: verifier.probability(
                feature_values(verifier.features, r, question, passages)
            )
        )
        return self.run(
            lambda model: read(
                model,
                self.tokenizer,
                ids,
                passages,
                config,
                decode_when_abstaining=decode_when_abstaining,
                on_token=on_token,
                head=self.head,
                verify=verify,
                choose=_chooser(question)
                if config.candidates is AnswerCandidates.CODE_UNITS
                else None,
            )
        )

    def run(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(model)`` with this reader's adapter selected, under the registry's lock."""
        with self._lock:
            context = self._use() if self._use is not None else None
            with context if context is not None else nullcontext():
                return fn(self.model)

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        """The ``Generator`` contract: the span found (cited by the passage that holds it)
        unless the abstention score reaches the threshold, with that score and the draft."""
        config = self.config
        if max_new_tokens < config.max_answer_tokens:
            config = replace(config, max_answer_tokens=max_new_tokens)
        reading = self.reading(
            prompt, config=config, decode_when_abstaining=False, on_token=on_token
        )
        scored = reading.answer is not None or config.score.before_decoding
        given = reading.gives(config.abstain_threshold, config.score)
        return Reply(
            reading.answer if given else None,
            (reading.cited,) if given and reading.cited else (),
            abstain_score=reading.abstain_score(config.score) if scored else None,
            draft=reading.answer,
            draft_cited=reading.cited,
        )


def _chooser(question: str) -> Chooser:
    """``read``'s ``choose``: the decoded span or a code unit, by ``candidates.choose``."""

    def pick(span: str, cited: int | None, texts: Sequence[str]) -> tuple[str, int | None]:
        draft = draft_candidate(span, texts)
        chosen = choose(question, draft, texts, relevance)
        return (span, cited) if chosen is None or chosen is draft else (chosen.text, chosen.passage)

    return pick


class AdapterRegistry:
    """Several adapters over one base model in one process; ``reader(name)`` gives a
    ``Generator`` bound to one of them (``None``: the bare base), switched per request. The
    model runs on ``device`` (default: the GPU when torch sees one, else the CPU)."""

    def __init__(self, base_dir: Path, base_name: str, device: str | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise PluginError(
                "adapters need torch, transformers and peft", READER_INSTALL
            ) from None
        self.base_dir, self.base_name = base_dir, base_name
        self.base_sha256 = model_fingerprint(base_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(base_dir)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model: Any = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        self.model.to(self.device).eval()
        self.adapters: dict[str, AdapterInfo] = {}
        self.configs: dict[str, ReaderConfig] = {}
        self.heads: dict[str, AbstainHead | None] = {}
        self.verifiers: dict[str, AnswerVerifier | None] = {}
        self._lock = threading.Lock()

    def load(self, adapter: str | Path | AdapterInfo, name: str | None = None) -> str:
        """Load an adapter (by name, folder or info) under ``name``; returns the name used."""
        info = adapter if isinstance(adapter, AdapterInfo) else resolve(adapter)
        name = name or info.name
        if info.base_sha256 != self.base_sha256:
            raise ConfigError(
                f"adapter {info.name} was trained on base {info.base} "
                f"({info.base_sha256[:12]}), not on {self.base_name} ({self.base_sha256[:12]})",
                "load it over the base it was trained on, or retrain it",
            )
        if name in self.adapters:
            return name
        from peft import PeftModel

        with self._lock, peft_quietly():
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(info.path), adapter_name=name)
            else:
                self.model = PeftModel.from_pretrained(
                    self.model, str(info.path), adapter_name=name
                )
            self.model.to(self.device).eval()
        self.adapters[name] = info
        self.configs[name] = ReaderConfig.load(info.path)
        self.heads[name] = AbstainHead.load(info.path)
        self.verifiers[name] = AnswerVerifier.load(info.path)
        return name

    @property
    def names(self) -> list[str]:
        return list(self.adapters)

    def reader(self, name: str | None, config: ReaderConfig | None = None) -> ReaderGenerator:
        """A generator over adapter ``name`` (``None``: the base with adapters disabled)."""
        if name is not None and name not in self.adapters:
            raise ConfigError(f"adapter {name!r} is not loaded", f"loaded: {self.names}")

        def use() -> Any:
            if name is None:
                return self.model.disable_adapter() if self.adapters else None
            self.model.set_adapter(name)
            return None

        default = ReaderConfig() if name is None else self.configs[name]
        label = f"{self.base_name}+{name}" if name else self.base_name
        return ReaderGenerator(
            label,
            self.model,
            self.tokenizer,
            config or default,
            self._lock,
            use,
            self.heads.get(name) if name else None,
            self.verifiers.get(name) if name else None,
        )


@contextmanager
def peft_quietly() -> Iterator[None]:
    """peft asks transformers 5.x ``is_gradient_checkpointing``, which warns that the name is
    deprecated: a library's notice, not the user's business."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated")
        yield


def merge_adapter(base_dir: Path, adapter: str | Path, out: Path) -> Path:
    """Fold an adapter's LoRA weights into a copy of the base and save a standalone model
    folder (weights, tokenizer, reader config and training card) at ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = resolve(adapter)
    if info.base_sha256 != model_fingerprint(base_dir):
        raise ConfigError(
            f"adapter {info.name} was not trained on {base_dir}", "merge it into its own base"
        )
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    with peft_quietly():
        merged = PeftModel.from_pretrained(base, str(info.path)).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out)
    for extra in (READER_CONFIG_FILE, CARD_FILE, HEAD_FILE, VERIFIER_FILE):
        if (info.path / extra).is_file():
            shutil.copy2(info.path / extra, out / extra)
    return out
