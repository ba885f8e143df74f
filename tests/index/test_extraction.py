"""Extraction keeps sentences whole for every reader, and citations still point into the text.

The corpus is made here (in no gold set): a PDF with wrapped paragraphs from fpdf2, a
hard-wrapped e-mail, HTML with inline tags, a DOCX, Markdown with emphasis and links, and
a Latin-1 text file. The end-to-end test indexes it with the real embedder and checks that
every quote the assistant gives is a whole sentence without markup.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from _makers import make_docx, make_pdf

from index import BadDocument, parse_document, sentence_spans
from index._chunking import MAX_SENTENCE_CHARS, MAX_WORD_CHARS, chunk_document

PDF_PAGES = [
    "Harbour Authority Annual Review\n"
    "The Port of Velmora handled 3.8 million containers in 2024, up from 3.1 million the year before, "
    "after the second deep-water berth was completed on the eastern quay. Dredging of the main channel "
    "to a depth of sixteen metres was finished in October, which allows larger vessels to call at the "
    "port without waiting for the tide.",
    "The harbour authority employed 1,240 people at the end of the year, most of them in cargo handling "
    "and in the upkeep of the cranes and of the rail sidings that link the quays to the inland terminal.",
]

# The cyclist figure sits in a sentence that wraps between its subject and its figure; the
# sentence before it holds another figure (checked in test_the_email_wraps_where_the_test_needs).
EMAIL_BODY = (
    "Last season the Ardmore ferry carried 61,400 passengers between the two islands. The new Kestrel "
    "footbridge over the estuary was crossed by 18,250 cyclists in its first month of operation, "
    "according to the council's own count."
)
EMAIL = (
    "From: Marta Lindgren <marta@example.org>\n"
    "To: Council transport team <transport@example.org>\n"
    "Subject: Crossing figures for the spring report\n"
    "\n"
    "Hi all,\n"
    "\n"
    + textwrap.fill(EMAIL_BODY, width=72)
    + "\n\n"
    "On Monday, Tomas wrote:\n"
    + textwrap.fill(
        "The old causeway road was closed to heavy lorries for nine weeks while the engineers "
        "strengthened its foundations.",
        width=70,
        initial_indent="> ",
        subsequent_indent="> ",
    )
    + "\n\n"
    "Best regards,\n"
    "Marta\n"
)

HTML = """<!doctype html><html><head><title>Lindqvist Observatory</title>
<style>p { color: red }</style></head><body>
<h1>Lindqvist Observatory</h1>
<p>The <b>Lindqvist Observatory</b> on <a href="/halden">Mount Halden</a> houses a
<span class="num">2.4-metre</span> reflecting telescope <img src="t.png" alt="telescope">that
was installed in <em>1987</em>.</p>
<ul><li>Guided tours run on <strong>Saturdays</strong> only.</li><li>Entry is free for children.</li></ul>
<div>The dome was repainted in 2019.<br>It is white.</div>
</body></html>"""

MARKDOWN = """# Brannock *Glassworks*

The **Brannock Glassworks** was founded in _1869_ by the [Tullis family](https://example.org/tullis)
and employed `420` workers at its peak.

## Products

- Bottles for the **local** breweries.
- Window glass for the mill towns.

1. The furnace was relit in 1902.

1990. The museum opened in the old furnace hall.
"""

LATIN1 = (
    "The Caf\u00e9 Br\u00fbl\u00e9e in Quimperl\u00e9 was opened in 1954 by H\u00e9l\u00e8ne Caradec, "
    "who ran it for thirty-one years.\n\nIts cr\u00eapes are made with buckwheat flour from the Ell\u00e9 valley.\n"
)

DOCX_PARAGRAPHS = [
    "Orsa Valley Cooperative",
    "The Orsa Valley cooperative produced 920 tonnes of cloudberry jam in 2022, most of it sold in Sweden.",
    "Its members pick berries on the bogs north of the river in August.",
]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_pdf(folder / "harbour.pdf", PDF_PAGES)
    (folder / "crossings.txt").write_text(EMAIL, encoding="utf-8")
    (folder / "observatory.html").write_text(HTML, encoding="utf-8")
    (folder / "glassworks.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "cafe.txt").write_bytes(LATIN1.encode("latin-1"))
    make_docx(folder / "orsa.docx", DOCX_PARAGRAPHS)
    return folder


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_pdf_joins_wrapped_lines_and_keeps_pages(tmp_path):
    path = tmp_path / "harbour.pdf"
    make_pdf(path, PDF_PAGES)
    doc = parse_document(path)
    found = sentences(doc.text)
    assert found[0] == "Harbour Authority Annual Review"  # a heading is not part of the next sentence
    whole = (
        "The Port of Velmora handled 3.8 million containers in 2024, up from 3.1 million the year before, "
        "after the second deep-water berth was completed on the eastern quay."
    )
    assert whole in found
    assert PDF_PAGES[1] in found
    for start, end, number in doc.pages:
        assert doc.text[start:end] == doc.text[start:end].strip() and end > start
        assert doc.page_at(start) == number
    assert doc.page_at(doc.text.index("1,240 people")) == 2
    assert doc.page_at(doc.text.index("deep-water berth")) == 1


def test_pdf_dehyphenates_a_broken_word_but_keeps_a_real_hyphen(tmp_path):
    path = tmp_path / "hyphens.pdf"
    lines = [
        "The survey team measured the water quality at forty-two sampling sites in the exam-",
        "ined bay and found the nitrate level well below the limit set by the Baku-",
        "Tbilisi agreement, which pleased the inspectors who had visited the site twice.",
    ]
    make_pdf(path, ["\n".join(lines)])
    text = parse_document(path).text
    assert "in the examined bay" in text
    assert "the Baku-Tbilisi agreement" in text
    assert "\n" not in text


def test_email_joins_wrapped_lines_and_keeps_its_structure(tmp_path):
    path = tmp_path / "crossings.txt"
    path.write_text(EMAIL, encoding="utf-8")
    text = parse_document(path).text
    found = sentences(text)
    assert "The new Kestrel footbridge over the estuary was crossed by 18,250 cyclists in its first month " in (
        text
    )
    assert (
        "The new Kestrel footbridge over the estuary was crossed by 18,250 cyclists in its first month of "
        "operation, according to the council's own count." in found
    )
    assert text.startswith(
        "From: Marta Lindgren <marta@example.org>\nTo: Council transport team <transport@example.org>\n"
        "Subject: Crossing figures for the spring report\n\nHi all,\n\n"
    )
    # the quoted reply loses its markers and is one sentence; the signature keeps its lines
    assert (
        "The old causeway road was closed to heavy lorries for nine weeks while the engineers "
        "strengthened its foundations." in found
    )
    assert ">" not in text.split("wrote:", 1)[1]
    assert text.endswith("Best regards,\nMarta")


def test_the_email_wraps_where_the_test_needs():
    """The wrapped-figure premise: a line ends between the Kestrel sentence's subject and figure."""
    lines = textwrap.fill(EMAIL_BODY, width=72).split("\n")
    broken = [i for i, line in enumerate(lines) if "Kestrel" in line and "18,250" not in line]
    assert broken and "18,250" in lines[broken[0] + 1]


def test_plain_text_keeps_short_lines_and_list_items(tmp_path):
    path = tmp_path / "notes.txt"
    body = textwrap.fill("The depot stores road salt for the winter and is open every weekday. " * 3, 60)
    path.write_text(
        "Depot notes\n" + body + "\n- salt: 400 tonnes in stock\n- grit: 120 tonnes\n\n"
        "12 Harbour Road\nVelmora\n",
        encoding="utf-8",
    )
    text = parse_document(path).text
    lines = text.split("\n")
    assert lines[0] == "Depot notes"
    assert lines[1] == " ".join(body.split("\n"))
    assert lines[2:] == ["- salt: 400 tonnes in stock", "- grit: 120 tonnes", "", "12 Harbour Road", "Velmora"]


def test_paragraph_lines_are_not_merged(tmp_path):
    """Lines far wider than any wrap width are whole paragraphs, even without blank lines between."""
    path = tmp_path / "long.txt"
    first = "The first paragraph is one long line about the harbour and its cranes, " * 3
    second = "The second paragraph is another long line about the railway sidings by the quay. " * 2
    path.write_text(first.strip() + "\n" + second.strip(), encoding="utf-8")
    assert parse_document(path).text == first.strip() + "\n" + second.strip()


def test_html_inline_elements_flow_and_blocks_break(tmp_path):
    path = tmp_path / "observatory.html"
    path.write_text(HTML, encoding="utf-8")
    doc = parse_document(path)
    assert doc.title == "Lindqvist Observatory"
    assert sentences(doc.text) == [
        "Lindqvist Observatory",
        "The Lindqvist Observatory on Mount Halden houses a 2.4-metre reflecting telescope that was "
        "installed in 1987.",
        "Guided tours run on Saturdays only.",
        "Entry is free for children.",
        "The dome was repainted in 2019.",
        "It is white.",
    ]
    assert "color" not in doc.text and "<" not in doc.text


def test_deeply_nested_html_does_not_overflow(tmp_path):
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 5000 + "Deep text is still read." + "</div>" * 5000, encoding="utf-8")
    assert parse_document(path).text == "Deep text is still read."


def test_markdown_syntax_is_removed(tmp_path):
    path = tmp_path / "glassworks.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = parse_document(path)
    assert doc.title == "Brannock Glassworks"
    assert sentences(doc.text) == [
        "Brannock Glassworks",
        "The Brannock Glassworks was founded in 1869 by the Tullis family and employed 420 workers at its peak.",
        "Products",
        "Bottles for the local breweries.",
        "Window glass for the mill towns.",
        "The furnace was relit in 1902.",
        "1990.",  # a year, not a list counter: kept (split off as a sentence, as before)
        "The museum opened in the old furnace hall.",
    ]
    for mark in ("#", "*", "_", "[", "](", "`", "https://"):
        assert mark not in doc.text


def test_docx_paragraphs_are_whole(tmp_path):
    path = tmp_path / "orsa.docx"
    make_docx(path, DOCX_PARAGRAPHS)
    assert sentences(parse_document(path).text) == DOCX_PARAGRAPHS


def test_latin1_text_is_read_with_one_warning(tmp_path):
    path = tmp_path / "cafe.txt"
    path.write_bytes(LATIN1.encode("latin-1"))
    doc = parse_document(path)
    assert doc.text == LATIN1.strip()
    assert len(doc.warnings) == 1 and "cp1252" in doc.warnings[0] and "\n" not in doc.warnings[0]


def test_abbreviations_do_not_end_a_sentence():
    text = (
        "The ferry office opens at 9 a.m. on weekdays. Dr. Ines Halloran has run it since Jan. 2019, "
        "e.g. through the storms of that winter. Its U.S. agent sells tickets too. See Fig. 3 for the route. "
        "It closes at 5 p.m. Tickets cost 4 pounds."
    )
    assert sentences(text) == [
        "The ferry office opens at 9 a.m. on weekdays.",
        "Dr. Ines Halloran has run it since Jan. 2019, e.g. through the storms of that winter.",
        "Its U.S. agent sells tickets too.",
        "See Fig. 3 for the route.",
        "It closes at 5 p.m.",
        "Tickets cost 4 pounds.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "word " * 400_000,  # 2 MB, no punctuation
        "x" * 2_000_000,  # 2 MB, no whitespace at all
        "a. " * 100_000,  # a sentence end every 3 characters
        ("The pipeline carried oil. " * 20 + "\n") * 2000,
    ],
    ids=["no-punctuation", "no-whitespace", "dense-punctuation", "many-lines"],
)
def test_sentence_spans_are_bounded_on_pathological_text(text):
    spans = sentence_spans(text)
    assert spans
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert max(e - s for s, e in spans) <= MAX_SENTENCE_CHARS
    assert all(len(max(text[s:e].split(), key=len)) <= MAX_WORD_CHARS for s, e in spans[:50])


def test_a_20mb_single_line_file_is_refused_in_one_line(tmp_path):
    """The upload limit's worth of text on one line would be ~20,000 chunks cut anywhere: refused
    before any work, with a reason a user can act on."""
    path = tmp_path / "one-line.txt"
    path.write_text("The relay station logged a pressure of 40 bar. " * 440_000, encoding="utf-8")
    assert path.stat().st_size > 20_000_000
    with pytest.raises(BadDocument, match=r"a line of [0-9,]{10} characters without a line break") as err:
        parse_document(path)
    assert "\n" not in str(err.value) and "split it into paragraphs" in str(err.value)


def test_a_5mb_single_line_is_chunked_with_sane_spans(embedder):
    """The chunker itself stays bounded on a huge line (no regex timeout from the sentence
    splitter, no chunk the size of the text), for text that reaches it by other readers."""
    sentence = "The relay station at marker {} logged a pressure of {} bar during the night shift. "
    text = "".join(sentence.format(i, 40 + i % 17) for i in range(60_000))
    assert len(text) > 5_000_000
    chunks = chunk_document(text, 200, 40, embedder.token_counter())
    assert len(chunks) > 2_500
    assert all(c.end - c.start <= 200 * 16 for c in chunks)
    assert all(a.start < b.start for a, b in zip(chunks, chunks[1:], strict=False))
    middle = chunks[len(chunks) // 2]
    s, e = middle.sentences[1]
    assert text[s:e].startswith("The relay station at marker ") and text[s:e].endswith("night shift.")


def test_a_20mb_wrapped_paragraph_is_joined(tmp_path):
    """Joining is linear: a paragraph of 280,000 wrapped lines becomes one line."""
    line = "the relay station logged a pressure of forty bar during the night shift and"
    path = tmp_path / "wrapped.txt"
    path.write_text((line + "\n") * 280_000, encoding="utf-8")
    text = parse_document(path).text
    assert "\n" not in text and len(text) == (len(line) + 1) * 280_000 - 1


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory, embedder):
    from index import update_index

    docs = write_corpus(tmp_path_factory.mktemp("extraction-docs"))
    index_dir = tmp_path_factory.mktemp("extraction-index")
    warnings: list[str] = []
    update_index(docs, index_dir, embedder=embedder, show_progress=False, warn=warnings.append)
    return docs, index_dir, warnings


def test_indexing_warns_once_about_the_latin1_file(corpus_index):
    _, _, warnings = corpus_index
    assert len(warnings) == 1, warnings
    assert "cafe.txt" in warnings[0] and "cp1252" in warnings[0] and "\n" not in warnings[0]


# (question, the figure or name the answer must give, document, page or None)
QUESTIONS = [
    ("How many containers did the Port of Velmora handle in 2024?", "3.8 million", "harbour.pdf", 1),
    ("How many people did the harbour authority employ at the end of the year?", "1,240", "harbour.pdf", 2),
    ("How many cyclists crossed the Kestrel footbridge in its first month?", "18,250", "crossings.txt", None),
    ("How many passengers did the Ardmore ferry carry last season?", "61,400", "crossings.txt", None),
    ("When was the telescope of the Lindqvist Observatory installed?", "1987", "observatory.html", None),
    ("How many workers did the Brannock Glassworks employ at its peak?", "420", "glassworks.md", None),
    ("Who opened the Caf\u00e9 Br\u00fbl\u00e9e in Quimperl\u00e9?", "H\u00e9l\u00e8ne Caradec", "cafe.txt", None),
    ("How much cloudberry jam did the Orsa Valley cooperative produce in 2022?", "920 tonnes", "orsa.docx", None),
]


@pytest.fixture(scope="module")
def corpus_bot(corpus_index, embedder):
    from qa import Assistant

    return Assistant(corpus_index[1], embedder=embedder).warm_up()


@pytest.mark.parametrize(("question", "expected", "doc", "page"), QUESTIONS)
def test_every_quote_is_a_whole_sentence_without_markup(corpus_index, corpus_bot, question, expected, doc, page):
    docs = corpus_index[0]
    answer = corpus_bot.answer(question)
    assert not answer.abstained, answer.text
    assert expected in answer.text, answer.text
    assert answer.citations
    texts = {}
    for c in answer.citations:
        text = texts.setdefault(c.doc, parse_document(docs / c.doc).text)
        assert text[c.start : c.end] == c.quote
        assert c.start in {s for s, _ in sentence_spans(text)}, c.quote
        assert re.search(r"[.!?]['\")\u2019\u201d]?$", c.quote), c.quote
        assert c.quote[0].isupper() or c.quote[0].isdigit(), c.quote
        for mark in ("\n", "**", "#", "<", "`", "]("):
            assert mark not in c.quote, c.quote
    best = answer.citations[0]
    assert best.doc == doc and expected in best.quote, [(c.doc, c.quote) for c in answer.citations]
    assert best.page == page


def test_an_index_from_an_older_extraction_is_rebuilt_with_one_line(tmp_path, embedder):
    from index import CorpusIndex, update_index
    from index._readers import EXTRACTION_VERSION

    docs = write_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    update_index(docs, index_dir, embedder=embedder, show_progress=False, warn=lambda _: None)
    manifest_path = index_dir / (index_dir / "CURRENT").read_text().strip() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["extraction"]  # what an index written before extraction versions looks like
    manifest_path.write_text(json.dumps(manifest))

    warnings: list[str] = []
    report = update_index(docs, index_dir, embedder=embedder, show_progress=False, warn=warnings.append)
    rebuilt = [w for w in warnings if "extraction" in w]
    assert len(rebuilt) == 1 and "re-reading" in rebuilt[0] and "\n" not in rebuilt[0]
    assert len(report.added) == 6 and report.embedded_chunks > 0
    index = CorpusIndex.open(index_dir)
    assert index.manifest["extraction"] == EXTRACTION_VERSION
    index.close()

    warnings.clear()
    again = update_index(docs, index_dir, embedder=embedder, show_progress=False, warn=warnings.append)
    assert len(again.unchanged) == 6 and not again.added and not [w for w in warnings if "extraction" in w]


def test_a_pdf_page_of_short_lines_keeps_them(tmp_path):
    path = tmp_path / "slide.pdf"
    make_pdf(path, ["Revenue grew\nCosts fell\nStaff stayed"])
    assert parse_document(path).text == "Revenue grew\nCosts fell\nStaff stayed"


def test_one_sentence_per_line_keeps_its_lines(tmp_path):
    path = tmp_path / "log.txt"
    lines = [f"Survey note {i}: the grain silos at site {i} were inspected in week {i + 1} by the team." for i in range(5)]
    path.write_text("\n".join(lines), encoding="utf-8")
    assert parse_document(path).text == "\n".join(lines)
