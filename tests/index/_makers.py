"""Real PDF and DOCX files for the reader tests, written with fpdf2 and python-docx."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], title: str | None = None) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if title is not None:
        pdf.set_title(title)
    pdf.output(str(path))


def make_docx(path: Path, paragraphs: list[str], title: str = "") -> None:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.core_properties.title = title
    d.save(str(path))
