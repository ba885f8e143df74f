"""The pure parts of the web chat: escaping, [n] links, <mark> spans, safe upload names."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from qa import Answer, Citation, RetrievedChunk
from ui import _render as R
from ui import safe_filename
from ui._docs import Library, UploadRejected

DOC = (
    "Intro line. The valve <script>window.__pwned=1</script> must be checked every 90 days & logged. "
    "Closing line about <b>nothing</b>."
)
START = DOC.index("The valve")
END = DOC.index("logged.") + len("logged.")


def make_answer(abstained: bool = False) -> Answer:
    quote = DOC[START:END]
    chunk = RetrievedChunk(doc="manual.txt", chunk_id=0, start=0, end=len(DOC), score=0.9, text=DOC)
    other = RetrievedChunk(
        doc="other.md", chunk_id=3, start=10, end=30, score=0.1, text="<i>unrelated</i> words"
    )
    cites = [
        Citation(
            n=1, doc="manual.txt", title="Manual <v2>", page=4, start=START, end=END, quote=quote, score=0.8
        )
    ]
    return Answer(
        question="How often is the <valve> checked?",
        text="The documents do not say." if abstained else f"{quote} [1] and [2]",
        abstained=abstained,
        citations=[] if abstained else cites,
        retrieved=[chunk, other],
    )


class _Collect(HTMLParser):
    """Parses rendered HTML the way a browser would: tags, and the text inside <mark>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.marks: list[str] = []
        self._in_mark = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id"]
        if tag == "mark":
            self._in_mark += 1
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data):
        if self._in_mark:
            self.marks[-1] += data


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    p.close()
    return p


def test_sources_mark_exactly_the_cited_span_and_escape_the_document():
    html = R.sources_html(make_answer(), turn=2)
    p = parse(html)
    assert p.marks == [DOC[START:END]]  # exactly the quote, after the browser decodes entities
    assert "script" not in p.tags and "b" not in p.tags and "i" not in p.tags
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert R.source_id(2, 1) in p.ids and "src-2-1" in p.ids
    assert "Manual &lt;v2&gt;" in html and "page 4" in html and "manual.txt" in html
    # the uncited passage is there, folded away
    assert "<details" in html and "other.md" in html and "&lt;i&gt;unrelated&lt;/i&gt;" in html


def test_passage_is_the_chunk_split_at_the_span():
    a = make_answer()
    before, quote, after = R.passage_parts(a.citations[0], a.retrieved)
    assert before + quote + after == DOC and quote == DOC[START:END]
    # no chunk holds it: the quote alone, still marked
    assert R.passage_parts(a.citations[0], a.retrieved[1:]) == ("", quote, "")


def test_answer_links_valid_markers_only_and_escapes_text():
    a = make_answer()
    html = R.answer_html(a.text, 0, len(a.citations), standalone="And <then>?")
    assert html.count('class="qa-cite"') == 1 and 'href="#src-0-1"' in html
    assert "[2]" in html and 'href="#src-0-2"' not in html  # no citation 2: plain text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Understood as: And &lt;then&gt;?" in html
    # while streaming, an incomplete marker stays text
    assert "qa-cite" not in R.answer_html("since 2023 [", 0, 1)


def test_abstention_looks_different_from_an_answer():
    a = make_answer(abstained=True)
    html = R.abstain_html(a.text)
    assert 'class="qa-abstain"' in html and "The documents do not say." in html
    sources = R.sources_html(a, 0)
    assert "No passage supports an answer" in sources and "<mark>" not in sources
    assert "Retrieved passages (2)" in sources


def test_user_text_and_notices_are_escaped():
    assert R.question_html("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<b>" not in R.notice_html("<b>bad</b>")
    assert R.notice_html("") == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/notes.md", "notes.md"),
        ("..\\..\\windows\\evil.docx", "evil.docx"),
        (".hidden.txt", "hidden.txt"),
        ("a<b>|c.txt", "a_b_c.txt"),
        ("Report (final) v2.PDF", "Report (final) v2.PDF"),
        ("отчёт.pdf", "отчёт.pdf"),
        ("..", "document"),
        ("", "document"),
        ("../.txt", "document.txt"),
    ],
)
def test_upload_names_cannot_leave_the_docs_folder(name, expected):
    assert safe_filename(name) == expected


def test_long_upload_names_keep_their_type():
    name = safe_filename("x" * 500 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")


@pytest.fixture()
def library(tmp_path) -> Library:
    return Library(tmp_path / "docs", tmp_path / "index", open_index=lambda: None, max_upload_mb=0.01)


def test_upload_checks_type_size_and_readability(tmp_path, library):
    src = tmp_path / "upload.bin"
    src.write_text("Plain words about valves and pumps.", encoding="utf-8")
    with pytest.raises(UploadRejected, match=r"unsupported file type \.exe"):
        library.check_upload(src, "tool.exe")
    with pytest.raises(UploadRejected, match=r"no extension"):
        library.check_upload(src, "README")
    big = tmp_path / "big.txt"
    big.write_text("word " * 5000, encoding="utf-8")  # 25 KB > 0.01 MB
    with pytest.raises(UploadRejected, match=r"big\.txt is 25 KB; the limit is 0\.01 MB"):
        library.check_upload(big, "big.txt")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    with pytest.raises(UploadRejected, match=r"junk\.pdf cannot be read: corrupt or unreadable PDF"):
        library.check_upload(junk, "junk.pdf")
    name, data = library.check_upload(src, "../../escape.txt")
    assert name == "escape.txt" and data.startswith(b"Plain")


def test_rejected_uploads_never_reach_the_folder(tmp_path, library):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all \x00\x01")
    steps = list(library.add([(junk, "junk.pdf")]))
    assert steps[-1].done and not steps[-1].ok and "junk.pdf cannot be read" in steps[-1].message
    assert not (library.docs_dir.exists() and any(library.docs_dir.iterdir()))
    placed = library._place(safe_filename("../x.txt"), b"text")
    assert placed.parent == library.docs_dir.resolve()


def test_streaming_yields_growing_prefixes():
    from ui._chat_events import stream_text

    text = "Since 2023, about 3.4 million tons [1] were exported."
    parts = list(stream_text(text, delay=0))
    assert len(parts) > 3 and parts[-1] == text
    assert all(b.startswith(a) for a, b in zip(parts, parts[1:], strict=False))


def test_chat_messages_pair_each_question_with_its_reply():
    from ui._conversation import ChatTurn
    from ui._render import chat_messages

    turns = [
        ChatTurn("q1", answer=make_answer()),
        ChatTurn("q2", answer=make_answer(abstained=True)),
        ChatTurn("q3", notice="No documents are indexed yet."),
        ChatTurn("q4"),
    ]
    msgs = chat_messages(turns)
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 4
    assert 'href="#src-0-1"' in msgs[1]["content"]
    assert "qa-abstain" in msgs[3]["content"] and "qa-cite" not in msgs[3]["content"]
    assert "qa-notice" in msgs[5]["content"]
    assert "Searching" in msgs[7]["content"]


def test_a_clarifying_question_is_shown_apart_from_answers_and_declines():
    from qa import Answer, Clarification
    from ui._conversation import ChatTurn
    from ui._render import chat_messages

    asked = Answer(
        question="What does this library offer?",
        text="Which library do you mean? The documents cover more than one: \u201cA <b>\u201d or \u201cB\u201d.",
        abstained=False,
        clarification=Clarification(readings=["A <b>", "B"]),
        standalone_question="this library?",
    )
    html = chat_messages([ChatTurn("q", answer=asked)])[1]["content"]
    assert 'class="qa-clarify"' in html and "Which one?" in html
    assert "qa-abstain" not in html and "qa-cite" not in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # titles come from documents: escaped
    assert "Understood as: this library?" in html


def test_page_fetches_no_web_fonts():
    from ui import launch_options

    opts = launch_options(20)
    css_fonts = " ".join(str(f) for f in opts["theme"].font)
    assert "GoogleFont" not in css_fonts and not re.search(r"https?://", opts["head"] + opts["css"])
    assert opts["ssr_mode"] is False


def test_sentences_dropped_by_verification_are_listed_escaped():
    from qa import Answer, AnswerSentence
    from ui._render import sources_html

    answer = Answer(
        question="q",
        text="The documents do not say.",
        abstained=True,
        sentences=[
            AnswerSentence(
                text="It cost <b>$9.8 billion</b>.", support=0.1, kept=False, reason="9.8 not in any passage"
            )
        ],
    )
    html = sources_html(answer, 0)
    assert "Dropped by verification (1)" in html
    assert "&lt;b&gt;$9.8 billion&lt;/b&gt;" in html and "9.8 not in any passage" in html


def test_short_answer_is_emphasised_inside_the_highlighted_sentence_and_leads_the_text():
    from qa import ShortAnswer

    a = make_answer()
    c = a.citations[0]
    # the span is a piece of the quote: the last word of the cited sentence
    word = c.quote.rstrip(".").split()[-1]
    start = c.start + c.quote.rindex(word)
    a.short_answer = ShortAnswer(text=word, n=1, doc=c.doc, start=start, end=start + len(word))
    html = R.sources_html(a, 0)
    mark = html[html.index("<mark>") : html.index("</mark>")]
    assert f'<strong class="qa-short">{R.esc(word)}</strong>' in mark
    assert mark.replace('<strong class="qa-short">', "").replace("</strong>", "") == f"<mark>{R.esc(c.quote)}"
    text = f"{word} \u2014 {c.quote} [1]"
    lead = R.answer_html(text, 0, 1, short=word)
    assert lead.startswith(f'<strong class="qa-short">{R.esc(word)}</strong> \u2014 ')
    # a short answer inside another citation, or none, leaves the quote as it is
    a.short_answer = ShortAnswer(text=word, n=2, doc=c.doc, start=start, end=start + len(word))
    assert "qa-short" not in R.sources_html(a, 0)
