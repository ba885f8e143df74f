"""The web chat on a Milvus (milvus-lite) index: same answers, uploads indexed into Milvus."""

from __future__ import annotations

import json

from _uihelpers import OIL_Q


def test_chat_service_on_milvus_answers_and_indexes_uploads(tmp_path, docs_copy, embedder):
    import ui
    from qa import StoreConfig

    index_dir = tmp_path / "idx"
    demo = ui.build_app(docs_copy, index_dir, embedder=embedder, store=StoreConfig(kind="milvus"))
    service = demo.qa_service
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    assert json.loads((gen / "manifest.json").read_text())["store"]["kind"] == "milvus"
    answer = service.answer(OIL_Q, [], 5, "extractive")
    assert "3.4 million tons" in answer.text and answer.citations
    # a document added to the folder is indexed into the same Milvus collection
    (docs_copy / "ferry.txt").write_text(
        "The Caspian ferry line between Aktau and Alat carried 40,000 trucks in 2024.", encoding="utf-8"
    )
    service.library.sync()
    answer = service.answer("How many trucks did the Aktau-Alat ferry carry in 2024?", [], 5, "extractive")
    assert "40,000 trucks" in answer.text
    assert answer.citations[0].doc == "ferry.txt"
