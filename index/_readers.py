"""Turn files into plain text, keeping enough structure (title, page spans) to cite them.

Every reader returns the *exact* text that chunks and citations point into, so a
citation's ``start``/``end`` can always be checked against ``ParsedDocument.text``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


class BadDocument(Exception):
    """A file that cannot be indexed; ``str()`` is a one-line reason."""


@dataclass
class ParsedDocument:
    text: str
    title: str
    # (start, end, page_number) spans, 1-based page numbers; empty when pages are unknown.
    pages: list[tuple[int, int, int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        return page_at(self.pages, offset)


def page_at(pages: list[tuple[int, int, int]], offset: int) -> int | None:
    """The 1-based page holding character ``offset``, or None when pages are unknown."""
    for start, end, number in pages:
        if start <= offset < end:
            return number
    return None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise BadDocument("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise BadDocument("not valid UTF-8 text (undecodable bytes); convert it to UTF-8")
    return text


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Control characters other than newline/tab mean junk, and confuse the tokenizer.
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)
    return text


def _check_text(text: str) -> str:
    if not text.strip():
        raise BadDocument("no text in the file (empty or only whitespace)")
    letters = sum(ch.isalnum() for ch in text[:20000])
    if letters < 0.3 * min(len(text), 20000):
        raise BadDocument("does not look like text (too few letters or digits)")
    return text


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


def _read_plain(path: Path, data: bytes) -> ParsedDocument:
    text = _check_text(_clean(_decode(data)))
    title = (_first_heading(text) if path.suffix.lower() == ".md" else None) or path.stem
    return ParsedDocument(text=text, title=title)


def _read_html(path: Path, data: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    body = soup.body or soup
    raw = body.get_text("\n")
    lines = [re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in raw.splitlines()]
    text = "\n\n".join(ln for ln in lines if ln)
    return ParsedDocument(text=_check_text(_clean(text)), title=title or path.stem)


def _read_pdf(path: Path, data: bytes) -> ParsedDocument:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - any failure means we cannot read it
                raise BadDocument("encrypted PDF (needs a password)") from exc
        parts: list[str] = []
        pages: list[tuple[int, int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = _clean(page.extract_text() or "").strip()
            if not page_text:
                continue
            if parts:
                parts.append("\n\n")
                offset += 2
            pages.append((offset, offset + len(page_text), number))
            parts.append(page_text)
            offset += len(page_text)
        meta_title = None
        try:
            meta_title = reader.metadata.title if reader.metadata else None
        except Exception:  # noqa: BLE001 - broken metadata is not worth failing for
            meta_title = None
    except BadDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadDocument(f"corrupt or unreadable PDF ({type(exc).__name__})") from exc
    text = "".join(parts)
    if not text.strip():
        raise BadDocument("PDF has no extractable text (scanned images need OCR first)")
    return ParsedDocument(text=_check_text(text), title=meta_title or path.stem, pages=pages)


def _read_docx(path: Path, data: bytes) -> ParsedDocument:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BadDocument(f"corrupt or unreadable DOCX ({type(exc).__name__})") from exc
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds for junk
        raise BadDocument(f"corrupt or unreadable DOCX ({type(exc).__name__})") from exc
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    text = _clean("\n\n".join(paragraphs))
    title = (document.core_properties.title or "").strip() or path.stem
    return ParsedDocument(text=_check_text(text), title=title)


_READERS = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise BadDocument("permission denied (cannot read the file)") from exc
    except IsADirectoryError as exc:
        raise BadDocument("is a directory") from exc
    except OSError as exc:
        raise BadDocument(f"cannot read the file ({exc.strerror or exc})") from exc


def parse_document(path: Path, data: bytes | None = None) -> ParsedDocument:
    """Parse one file; raises :class:`BadDocument` with a one-line reason."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise BadDocument(
            f"unsupported file type {path.suffix or '(none)'}; use one of " + ", ".join(SUPPORTED_SUFFIXES)
        )
    if data is None:
        data = read_bytes(path)
    if not data:
        raise BadDocument("empty file")
    return reader(path, data)

