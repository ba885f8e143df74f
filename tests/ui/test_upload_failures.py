"""One file cannot break the web chat: failed indexing, existing names, long questions, removal.

Against the real in-process server of conftest (real embedder, real index, gradio_client).
"""

from __future__ import annotations

import pytest
from _uihelpers import OIL_Q, ask, reply_text, unindexable_pdf
from gradio_client import handle_file

DREDGER = "The river dredger Osprey cleared 9,300 cubic metres of sand from the Ural delta in 2025."
DREDGER_Q = "How much sand did the river dredger Osprey clear from the Ural delta?"


def _upload(client, *paths):
    return client.predict([handle_file(str(p)) for p in paths], api_name="/add_documents")


def _names(table) -> set[str]:
    return {row[0] for row in table["data"]}


def _one_line(status: str) -> None:
    assert "Traceback" not in status and "\n" not in status


def test_a_latin1_upload_is_read_and_its_encoding_named(server, tmp_path):
    notes = tmp_path / "dredger notes.txt"
    notes.write_bytes("The dredger Osprey's café served 40 crew in 2025; the pier is at Ust-Kamenogorsk.".encode("cp1252"))
    client = server.client()
    status, table, _, _ = _upload(client, notes)
    _one_line(status)
    assert "added dredger notes.txt" in status and "dredger notes.txt" in _names(table)
    assert "dredger notes.txt: not UTF-8; read as cp1252" in status and "/" not in status.split("cp1252")[0]
    client.predict("dredger notes.txt", api_name="/remove_document")


def test_an_upload_that_fails_to_index_is_named_and_does_not_block_the_next(server, tmp_path):
    bad = tmp_path / "survey.pdf"
    bad.write_bytes(unindexable_pdf())
    client = server.client()
    status, table, _, _ = _upload(client, bad)
    _one_line(status)
    assert "survey.pdf could not be indexed: failed while chunking it (UnicodeEncodeError" in status
    assert "not added" in status
    assert 'class="qa-err"' in status
    assert not (server.docs / "survey.pdf").exists(), "a failed upload must not stay in the folder"
    assert "survey.pdf" not in _names(table)

    good = tmp_path / "osprey.txt"
    good.write_text(DREDGER, encoding="utf-8")
    status, table, _, _ = _upload(client, good)
    try:
        assert "added osprey.txt" in status and 'class="qa-ok"' in status, status
        _, chat, sources, _ = ask(client, DREDGER_Q)
        assert "9,300 cubic metres" in reply_text(chat) and "osprey.txt" in sources
    finally:
        status, table, _, _ = client.predict("osprey.txt", api_name="/remove_document")
    assert "removed osprey.txt" in status and "osprey.txt" not in _names(table)
    _, chat, sources, _ = ask(client, DREDGER_Q)
    assert "osprey.txt" not in sources and "9,300" not in reply_text(chat)


def test_a_bad_and_a_good_file_in_one_upload(server, tmp_path):
    bad, good = tmp_path / "scan.pdf", tmp_path / "osprey two.txt"
    bad.write_bytes(unindexable_pdf())
    good.write_text(DREDGER, encoding="utf-8")
    client = server.client()
    status, table, _, _ = _upload(client, bad, good)
    try:
        _one_line(status)
        assert "added osprey two.txt" in status and "scan.pdf could not be indexed" in status
        assert "osprey two.txt" in _names(table) and not (server.docs / "scan.pdf").exists()
    finally:
        client.predict("osprey two.txt", api_name="/remove_document")


def test_a_failing_file_left_in_the_folder_does_not_block_removal(server, tmp_path):
    """A file dropped into the folder by hand that breaks indexing (the restart case, live)."""
    good = tmp_path / "osprey three.txt"
    good.write_text(DREDGER, encoding="utf-8")
    client = server.client()
    status, *_ = _upload(client, good)
    assert "added osprey three.txt" in status
    (server.docs / "leftover.pdf").write_bytes(unindexable_pdf())
    status, table, _, _ = client.predict("osprey three.txt", api_name="/remove_document")
    _one_line(status)
    assert "removed osprey three.txt" in status and "osprey three.txt" not in _names(table)
    assert "Skipped leftover.pdf: failed while chunking it (UnicodeEncodeError" in status  # named, in one line
    assert (server.docs / "leftover.pdf").exists(), "the user's file is skipped, not deleted"
    status, table, _, _ = client.predict("leftover.pdf", api_name="/remove_document")
    _one_line(status)
    assert "leftover.pdf" not in _names(table)
    assert not (server.docs / "leftover.pdf").exists()


def test_removal_works_when_the_file_is_already_gone(server, tmp_path):
    good = tmp_path / "osprey four.txt"
    good.write_text(DREDGER, encoding="utf-8")
    client = server.client()
    status, *_ = _upload(client, good)
    assert "added osprey four.txt" in status
    (server.docs / "osprey four.txt").unlink()  # gone behind the chat's back
    _, _, sources, _ = ask(client, DREDGER_Q)
    assert "osprey four.txt" in sources, "the index still answers from it"
    status, table, _, _ = client.predict("osprey four.txt", api_name="/remove_document")
    assert "removed osprey four.txt" in status and "osprey four.txt" not in _names(table)
    _, _, sources, _ = ask(client, DREDGER_Q)
    assert "osprey four.txt" not in sources


def test_an_existing_name_keeps_both(server, tmp_path):
    first, second = tmp_path / "a" / "fleet.txt", tmp_path / "b" / "fleet.txt"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text(DREDGER, encoding="utf-8")
    second.write_text("The tug Kestrel towed 14 barges to Aktau in March 2025.", encoding="utf-8")
    client = server.client()
    try:
        status, *_ = _upload(client, first)
        assert "added fleet.txt" in status
        status, table, _, _ = _upload(client, second)
        assert "fleet.txt exists; saved as fleet (2).txt" in status and "added fleet (2).txt" in status
        assert {"fleet.txt", "fleet (2).txt"} <= _names(table)
        assert (server.docs / "fleet.txt").read_text(encoding="utf-8") == DREDGER, "not replaced"
        status, table, _, _ = _upload(client, first)  # the very same file again
        assert "already in the documents" in status and "fleet (3).txt" not in _names(table)
    finally:
        for name in ("fleet.txt", "fleet (2).txt"):
            client.predict(name, api_name="/remove_document")


@pytest.mark.parametrize("length", [2001, 1_000_000])
def test_a_question_over_the_limit_gets_one_line(server, length):
    client = server.client()
    ask(client, OIL_Q)
    question = ("why " * length)[: length - 1] + "?"
    box, chat, _, notice = ask(client, question)
    assert "the limit is 2,000" in notice and f"{length:,} characters" in notice
    assert "Traceback" not in notice and "\n" not in notice
    assert len(chat) == 2, "the long question does not enter the conversation"
