"""The torch-free query encoder computes what sentence-transformers computes, and keeps torch out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Embedder
from index._embed import resolve_model_path
from index._query import QueryEncoder

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "Where was the 12th OTS Summit held?",
    "x",
    "",
    "Ünïcödé — “quotes”, 3,400 tons and $550 million",
    "a long question " * 200,  # past the model's 256 tokens: truncated the same way
]


@pytest.mark.parametrize("text", TEXTS)
def test_numpy_query_vectors_match_sentence_transformers(text, embedder):
    ours = Embedder(query_backend="numpy").embed_query(text)
    reference = embedder.sentence_transformer.encode([text], normalize_embeddings=True)[0]
    assert ours.dtype == np.float32 and ours.shape == (384,)
    assert np.abs(ours - reference).max() < 1e-5
    assert float(ours @ reference) > 0.99999


def test_other_model_layouts_fall_back_to_sentence_transformers(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), folder)
    pooling = folder / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(cfg))
    assert QueryEncoder.load(folder) is None
    assert Embedder(str(folder)).query_encoder() is None
    with pytest.raises(ValueError):
        Embedder(str(folder), query_backend="numpy").query_encoder()


def test_answering_does_not_import_torch(seed_index):
    code = (
        "import sys; from qa import Assistant; "
        f"a = Assistant({str(seed_index)!r}).answer('Where was the 12th OTS Summit held?'); "
        "assert 'Gabala' in a.text, a.text; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
