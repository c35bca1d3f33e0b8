"""A reader over one adapter, served from its LoRA weights folded into the base once.

``ask`` reads with one adapter. Folding it into the base (``merge_adapter``) and caching the
result under ``$RAGCORE_CACHE/merged/`` lets every later process load a plain transformers
model: no peft import (1.9 s on 2 cores) and no LoRA branches in the forward pass. The cache
key is the base's fingerprint and the adapter weights' SHA-256, so retraining an adapter
makes a new entry; the reader config, abstention head and verifier are always read from the
adapter folder itself, so recalibrating needs no new merge.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.abstain_head import AbstainHead
from ragcore.adapters.reader.base_model import READER_INSTALL, cache_root, file_sha256
from ragcore.adapters.reader.decoding import ReaderConfig
from ragcore.adapters.reader.registry import (
    AdapterInfo,
    ReaderGenerator,
    merge_adapter,
    resolve,
)
from ragcore.adapters.reader.verifier import AnswerVerifier

from ragcore.errors import ConfigError, PluginError
from ragcore.progress import quiet_libraries

WEIGHTS = "adapter_model.safetensors"


def merged_dir(info: AdapterInfo) -> Path:
    """Where the merged copy of ``info`` over its base is cached."""
    digest = file_sha256(info.path / WEIGHTS)
    return cache_root() / "merged" / f"{info.name}-{info.base_sha256[:8]}-{digest[:12]}"


def merged_model(base_dir: Path, info: AdapterInfo) -> Path:
    """The cached merge of ``info`` over the base at ``base_dir``, made now if missing (a
    cold ``ask`` after training then only loads it)."""
    if not (info.path / WEIGHTS).is_file():
        raise ConfigError(f"{info.path} has no {WEIGHTS}", "retrain or re-download the adapter")
    target = merged_dir(info)
    if not (target / "model.safetensors").is_file():
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        with quiet_libraries():  # transformers' "Writing model shards" bar
            merge_adapter(base_dir, info.path, tmp)  # refuses an adapter of another base
        try:
            os.replace(tmp, target)  # atomic: a reader never sees half a folder
        except OSError:  # another process merged it first
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def merged_reader(
    base_dir: Path, base_name: str, adapter: str | Path, device: str | None = None
) -> ReaderGenerator:
    """The reader for ``adapter`` over the base at ``base_dir``, merging it on first use. The
    merged Llama is read by ``adapters.reader.llama`` (no transformers import); another
    architecture by transformers."""
    try:
        import torch
    except ImportError:
        raise PluginError("the reader needs torch and transformers", READER_INSTALL) from None
    info = resolve(adapter)
    target = merged_model(base_dir, info)
    from ragcore.adapters.reader.llama import load_model

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_model(target, device) or _transformers_model(target, device)
    return ReaderGenerator(
        f"{base_name}+{info.name}",
        model,
        tokenizer,
        ReaderConfig.load(info.path),
        head=AbstainHead.load(info.path),
        verifier=AnswerVerifier.load(info.path),
    )


def _transformers_model(folder: Path, device: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    return model, AutoTokenizer.from_pretrained(folder)
