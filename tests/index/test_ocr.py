"""OCR: scanned PDFs (text drawn into an image, no text layer) and image files are read by the
real RapidOCR, indexed with the real embedder and answered with page citations by the real
Assistant. The facts (a fictional ferry company and harbour) are in no gold set."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from index import IndexReport, parse_document, update_index
from index._ocr import NO_TEXT, layout_text

SCAN_PAGE_1 = (
    "The Marrowby Ferry Company was founded in 1908 in the port of Kelsith. "
    "Its first vessel was a paddle steamer called the Wren, built of oak and iron."
)
SCAN_PAGE_2 = (
    "The crossing from Kelsith to Tollan Island takes forty-five minutes. "
    "The current captain of the Marrowby ferry is Ysolde Ferraby, who has sailed the route since 2011."
)
IMAGE_TEXT = (
    "Notice to visitors. The Kelsith harbour lamp is lit every evening at seven o'clock "
    "by the night warden, Corentin Vash."
)
MIXED_PAGE_1 = "The Tollan Island museum keeps the logbooks of the ferry from 1908 to 1950."
MIXED_PAGE_2 = "The museum on Tollan Island opens at ten in the morning and closes at four."


def _render(text: str, width: int = 1000, height: int = 600) -> object:
    """``text`` drawn black on white in Pillow's bundled scalable font, wrapped like a page."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    y = 60
    for line in textwrap.wrap(text, 60):
        draw.text((60, y), line, font=font, fill=0)
        y += 40
    return image


def _scanned_pdf(path: Path, pages: list[str]) -> None:
    """An image-only PDF, one rendered image per page, as a scanner writes it."""
    images = [_render(text) for text in pages]
    images[0].save(path, "PDF", resolution=200, save_all=True, append_images=images[1:])


def _mixed_pdf(path: Path) -> None:
    """Page 1 with a text layer (fpdf2), page 2 a scanned image only."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, MIXED_PAGE_1)
    pdf.add_page()
    buffer = io.BytesIO()
    _render(MIXED_PAGE_2).save(buffer, "PNG")
    pdf.image(buffer, x=10, y=10, w=170)
    pdf.output(str(path))


def _pypdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [(page.extract_text() or "").strip() for page in PdfReader(path).pages]


@pytest.fixture(scope="module")
def ocr_docs(tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("ocr-docs")
    _scanned_pdf(docs / "ferry.pdf", [SCAN_PAGE_1, SCAN_PAGE_2])
    _render(IMAGE_TEXT).save(docs / "notice.png")
    _mixed_pdf(docs / "museum.pdf")
    return docs


@pytest.fixture(scope="module")
def ocr_index(ocr_docs, tmp_path_factory, embedder) -> tuple[Path, IndexReport]:
    index_dir = tmp_path_factory.mktemp("ocr-index")
    report = update_index(ocr_docs, index_dir, embedder=embedder, show_progress=False)
    return index_dir, report


@pytest.fixture(scope="module")
def ocr_bot(ocr_index, embedder):
    from qa import Assistant

    return Assistant(ocr_index[0], embedder=embedder).warm_up()


def test_the_scanned_pdf_has_no_text_layer(ocr_docs):
    assert _pypdf_text(ocr_docs / "ferry.pdf") == ["", ""]
    mixed = _pypdf_text(ocr_docs / "museum.pdf")
    assert "logbooks" in mixed[0] and mixed[1] == ""


def _indexed(bot, key: str):
    """The document as the index holds it (the text citations point into)."""
    return next(doc for doc in bot.index.documents if doc.key == key)


def _cited(bot, question: str, fact: str):
    """The answer's citation quoting ``fact``, checked to be the indexed text at [start:end]."""
    answer = bot.answer(question)
    assert not answer.abstained, answer.text
    for citation in answer.citations:
        if fact in citation.quote:
            assert _indexed(bot, citation.doc).text[citation.start : citation.end] == citation.quote
            return citation
    raise AssertionError(f"no citation quotes {fact!r}: {[c.quote for c in answer.citations]}")


@pytest.mark.slow
def test_a_fact_on_page_2_of_a_scan_is_cited_with_its_page(ocr_bot):
    citation = _cited(ocr_bot, "Who is the current captain of the Marrowby ferry?", "Ysolde Ferraby")
    assert citation.doc == "ferry.pdf" and citation.page == 2


@pytest.mark.slow
def test_a_fact_in_an_image_is_cited_as_page_1(ocr_bot):
    citation = _cited(ocr_bot, "Who lights the Kelsith harbour lamp?", "Corentin Vash")
    assert citation.doc == "notice.png" and citation.page == 1 and citation.title == "notice"


@pytest.mark.slow
def test_the_summary_counts_ocr_pages(ocr_index):
    report = ocr_index[1]
    assert sorted(report.added) == ["ferry.pdf", "museum.pdf", "notice.png"] and not report.skipped
    assert report.ocr_pages == 4 and report.ocr_seconds > 0  # 2 scanned + 1 mixed-PDF page + 1 image
    assert "4 pages OCR'd in " in report.summary()


@pytest.mark.slow
def test_ocr_text_reads_as_the_sentences_and_pages_stay_in_place(ocr_bot):
    scan = _indexed(ocr_bot, "ferry.pdf")
    assert scan.text == SCAN_PAGE_1 + "\n\n" + SCAN_PAGE_2  # wrapped lines joined, nothing misread
    assert [page for _, _, page in scan.pages] == [1, 2]
    assert _indexed(ocr_bot, "notice.png").text == IMAGE_TEXT
    mixed = _indexed(ocr_bot, "museum.pdf")
    assert mixed.page_at(mixed.text.index("logbooks")) == 1  # the text layer, kept
    assert mixed.page_at(mixed.text.index("closes at four")) == 2  # the scan


def test_a_blank_image_and_a_blank_scan_are_skipped_with_one_line(tmp_path, embedder):
    from PIL import Image

    docs = tmp_path / "docs"
    docs.mkdir()
    Image.new("RGB", (800, 600), "white").save(docs / "blank.jpg")
    Image.new("L", (800, 600), 255).save(docs / "blank.pdf", "PDF", resolution=100)
    (docs / "keep.txt").write_text("The Kelsith ferry ticket office sells day passes.\n", encoding="utf-8")
    report = update_index(docs, tmp_path / "idx", embedder=embedder, show_progress=False)
    reasons = {Path(path).name: reason for path, reason in report.skipped}
    assert reasons == {"blank.jpg": NO_TEXT, "blank.pdf": f"PDF has no text (no text layer, and {NO_TEXT})"}
    assert report.added == ["keep.txt"] and "\n" not in "".join(reasons.values())
    assert "OCR'd" not in report.summary()  # nothing was worth OCR


def test_a_corrupt_image_is_one_line(tmp_path):
    from index import BadDocument

    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    with pytest.raises(BadDocument, match=r"^corrupt or unreadable image \(\w+\)$"):
        parse_document(bad)


@pytest.mark.slow
def test_an_empty_page_among_scans_is_named_in_a_warning(tmp_path):
    from PIL import Image

    path = tmp_path / "gaps.pdf"
    speck = Image.new("L", (1000, 600), 255)
    speck.putpixel((500, 300), 0)  # not blank (a speck of dust), yet no text to find
    pages = [_render(SCAN_PAGE_1), speck]
    pages[0].save(path, "PDF", resolution=200, save_all=True, append_images=pages[1:])
    doc = parse_document(path)
    assert doc.warnings == [f"{NO_TEXT} on page 2"] and [p for _, _, p in doc.pages] == [1]


def test_boxes_become_lines_in_reading_order_and_gaps_paragraphs():
    boxes = [  # (top, bottom, left, text), shuffled as a detector may return them
        (52, 80, 400, "of the line"),
        (10, 38, 10, "A heading"),
        (50, 78, 10, "The start"),
        (150, 178, 10, "A new paragraph."),
        (90, 118, 12, "next line"),
    ]
    assert layout_text(boxes) == "A heading\nThe start of the line\nnext line\n\nA new paragraph."


def test_the_summary_names_ocr_only_when_it_ran():
    report = IndexReport(index_dir="idx")
    assert "OCR" not in report.summary()
    report.ocr_pages, report.ocr_seconds = 1, 0.44
    assert report.summary().endswith("; 1 page OCR'd in 0.4s")


@pytest.mark.slow
def test_qa_index_prints_the_ocr_pages(tmp_path):
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    docs = tmp_path / "docs"
    docs.mkdir()
    _render(IMAGE_TEXT).convert("RGB").save(docs / "notice.jpg", quality=90)
    env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("QA_INDEX_DIR", None)
    out = subprocess.run(
        [sys.executable, "-m", "qa", "index", str(docs), "--index-dir", str(tmp_path / "idx"), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and "; 1 page OCR'd in " in out.stdout
    assert "Traceback" not in out.stderr and "RapidOCR" not in out.stderr  # its logger stays quiet


@pytest.mark.slow
def test_transparent_and_16_bit_images_are_read_not_blacked_or_whited_out(tmp_path):
    import numpy as np
    from PIL import Image

    ink = np.asarray(_render(IMAGE_TEXT)) < 128  # where the text is
    clear = Image.fromarray(np.dstack([np.zeros_like(ink, np.uint8)] * 3 + [(ink * 255).astype(np.uint8)]))
    clear.save(tmp_path / "clear.png")  # black text on a transparent (black) background
    deep = Image.fromarray(np.where(ink, 16384, 65535).astype(np.uint16))  # dark grey: clipped, all white
    deep.save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "clear.png").mode == "RGBA" and Image.open(
        tmp_path / "deep.png"
    ).mode.startswith("I")
    assert parse_document(tmp_path / "clear.png").text == IMAGE_TEXT
    assert parse_document(tmp_path / "deep.png").text == IMAGE_TEXT


def test_a_scan_checked_then_indexed_is_read_by_ocr_once_and_again_when_it_changes(
    tmp_path, embedder, monkeypatch
):
    """The web chat parses an upload to check it, then indexes it: OCR, seconds a page, runs
    once for both; a file with other bytes under the same name is read again."""
    from index import _ocr

    calls: list[int] = []
    real = _ocr.ocr_image
    monkeypatch.setattr(_ocr, "ocr_image", lambda image: calls.append(1) or real(image))
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "quay.pdf"
    _scanned_pdf(
        scan, ["The Ostra quay was rebuilt in 1931 with granite from Vell.", "Its crane lifts 40 tonnes."]
    )
    checked = parse_document(Path(scan.name), scan.read_bytes())  # what the upload check does
    assert len(calls) == 2 and "1931" in checked.text
    report = update_index(docs, tmp_path / "idx", embedder=embedder, show_progress=False)
    assert report.added == ["quay.pdf"] and report.ocr_pages == 2 and len(calls) == 2
    _scanned_pdf(
        scan, ["The Ostra quay was rebuilt in 1932 with granite from Vell.", "Its crane lifts 40 tonnes."]
    )
    report = update_index(docs, tmp_path / "idx", embedder=embedder, show_progress=False)
    assert report.updated == ["quay.pdf"] and len(calls) == 4
