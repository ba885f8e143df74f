"""Query embeddings without torch: the MiniLM (BERT) forward pass for one text, in numpy.

Answering a question needs one short embedding. Loading sentence-transformers for it
means importing torch, transformers and scikit-learn, about 7 of the 9.5 seconds a cold
``qa ask`` took; the forward pass itself is a few small matrix products. This computes
exactly what ``SentenceTransformer.encode`` returns for the packaged model (BERT, mean
pooling, L2 normalisation; agreement to about 1e-7), from the same ``model.safetensors``
and ``tokenizer.json``. Any other model layout falls back to sentence-transformers.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU, below float32 noise."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-a * a))


def _single_thread() -> Callable[[], contextlib.AbstractContextManager]:
    """One BLAS thread while encoding: on a busy 2-core CPU a second thread that gets
    descheduled stalls every small product (measured 18 ms per query with one thread, 140-500 ms
    with two, while other processes ran)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with our dependencies
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


# Two encodes at once would each restore the thread count the other had lowered, leaving
# BLAS at one thread for the whole process; a query takes milliseconds, so they take turns.
_ENCODE_LOCK = threading.Lock()


class QueryEncoder:
    """A sentence-transformers BERT model with mean pooling, for one query at a time.

    >>> enc = QueryEncoder.load(resolve_model_path("all-MiniLM-L6-v2"))  # doctest: +SKIP
    >>> enc.encode("Where is Shamkir?").shape                           # doctest: +SKIP
    (384,)
    """

    def __init__(self, config: dict, weights: dict[str, np.ndarray], tokenizer, max_tokens: int) -> None:
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        w = weights
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._type0 = w["embeddings.token_type_embeddings.weight"][0]
        self._ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self._blocks.append(
                (
                    np.ascontiguousarray(qkv_w.T),
                    qkv_b,
                    np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    w[p + "attention.output.dense.bias"],
                    (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                    np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    w[p + "intermediate.dense.bias"],
                    np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    w[p + "output.dense.bias"],
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )
        self._limit = _single_thread()
        self.lowercase = False

    @classmethod
    def load(cls, folder: Path) -> QueryEncoder | None:
        """The encoder for ``folder``, or None when it is not a layout this reproduces exactly."""
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
            kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
            if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
                return None  # (the output is normalised either way: cosine is all we use)
            pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
            modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode")}
            if not modes.get("pooling_mode_mean_tokens") or sum(bool(v) for v in modes.values()) != 1:
                return None
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            if (
                config.get("model_type") != "bert"
                or config.get("hidden_act") != "gelu"
                or config.get("position_embedding_type", "absolute") != "absolute"
            ):
                return None
            st_config = folder / "sentence_bert_config.json"
            st_cfg = json.loads(st_config.read_text(encoding="utf-8")) if st_config.is_file() else {}
            weights_file = folder / "model.safetensors"
            if not weights_file.is_file() or not (folder / "tokenizer.json").is_file():
                return None
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        # anything unexpected in the files means sentence-transformers does the job instead
        try:
            raw = load_file(str(weights_file))
            weights = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in raw.items()}
            max_tokens = min(
                int(st_cfg.get("max_seq_length") or config["max_position_embeddings"]),
                int(config["max_position_embeddings"]),
            )
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_tokens)
            encoder = cls(config, weights, tokenizer, max_tokens)
        except Exception:  # noqa: BLE001 - a corrupt or unusual model folder: fall back, never fail
            return None
        encoder.lowercase = bool(st_cfg.get("do_lower_case"))  # what sentence-transformers does
        return encoder

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * params[0] + params[1]

    def encode(self, text: str) -> np.ndarray:
        """The L2-normalised mean-pooled embedding of ``text`` (float32)."""
        if self.lowercase:
            text = text.lower()
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        n, h = len(ids), self.heads
        with _ENCODE_LOCK, self._limit():
            x = self._word[ids] + self._pos[:n] + self._type0
            x = self._norm(x, self._ln0)
            d = x.shape[1] // h
            scale = 1.0 / math.sqrt(d)
            for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self._blocks:
                qkv = (x @ qkv_w + qkv_b).reshape(n, 3, h, d).transpose(1, 2, 0, 3)
                scores = (qkv[0] @ qkv[1].transpose(0, 2, 1)) * scale
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                scores /= scores.sum(-1, keepdims=True)
                ctx = (scores @ qkv[2]).transpose(1, 0, 2).reshape(n, h * d)
                x = self._norm(x + ctx @ o_w + o_b, ln1)
                inner = x @ i_w + i_b
                inner = 0.5 * inner * (1.0 + _erf(inner * (1.0 / math.sqrt(2.0))))
                x = self._norm(x + inner @ f_w + f_b, ln2)
            vec = x.mean(0)
        norm = float(np.linalg.norm(vec))
        return (vec / (norm or 1.0)).astype(np.float32)
