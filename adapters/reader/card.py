"""The training card beside an adapter (data, split, hyper-parameters, metrics, the base
model's hash; peft's habit of a config saved beside the weights), and the base model's
fingerprint that ties an adapter to its base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.base_model import file_sha256

from ragcore.errors import ConfigError

CARD_FILE = "training_card.json"


def model_fingerprint(model_dir: Path) -> str:
    """The base model's identity: the packaged GGUF's SHA-256 recorded at conversion, or the
    SHA-256 of the weights file(s)."""
    source = model_dir / "SOURCE"
    if source.is_file() and "sha256=" in source.read_text():
        return source.read_text().split("sha256=")[1].split()[0]
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    if not weights:
        raise ConfigError(f"{model_dir} has no weights", "pass a transformers model directory")
    return "+".join(file_sha256(w) for w in weights)


def write_card(out: Path, card: dict[str, Any]) -> None:
    """Write (or update) the training card beside the adapter."""
    path = out / CARD_FILE
    old = json.loads(path.read_text()) if path.is_file() else {}
    merged = {**old, **card}
    merged["metrics"] = {**old.get("metrics", {}), **card.get("metrics", {})}
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


def read_card(adapter_dir: Path) -> dict[str, Any]:
    path = adapter_dir / CARD_FILE
    if not path.is_file():
        raise ConfigError(
            f"{adapter_dir} has no {CARD_FILE}", "pass a folder written by ragcore adapters train"
        )
    return json.loads(path.read_text())
