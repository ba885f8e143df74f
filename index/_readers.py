"""Turn files into plain text, keeping enough structure (title, page spans) to cite them.

The indexed text is the *cleaned* text, and every reader returns exactly the text that
chunks and citations point into, so ``quote == ParsedDocument.text[start:end]`` holds
(and a PDF's page spans are offsets into it). Cleaning keeps sentences whole: wrapped
lines of PDFs, e-mails and plain text are joined (``_text.py``), HTML inline elements
flow into their sentence while block elements break it, and Markdown syntax is removed
(``_markup.py``). Scanned PDF pages (no text layer) and image files are read by OCR
(``_ocr.py``). A change to what the readers produce for the same bytes bumps
:data:`EXTRACTION_VERSION`; an index built with another version is rebuilt by the next
``qa index`` (``index/_update.py``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

from ._markup import html_to_text, markdown_to_text
from ._ocr import NO_TEXT
from ._text import BadDocument, clean, decode, join_pdf_lines, join_plain_lines

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".png", ".jpg", ".jpeg")

# 1: raw reader text (every wrapped line and inline tag broke a sentence)
# 2: wrapped lines joined, inline HTML flowed, Markdown syntax removed, cp1252/Latin-1 read
# 3: sentences split by sentencex ("Dr. Smith", "9 a.m. on Mondays" stay whole; chunks move too)
EXTRACTION_VERSION = 3
# (OCR did not bump it: it reads only pages that gave no text before, and a rebuild of every
# index to pick up the scanned pages of PDFs already indexed is the user's call: --rebuild.)

__all__ = ["EXTRACTION_VERSION", "SUPPORTED_SUFFIXES", "BadDocument", "ParsedDocument", "parse_document"]


@dataclass
class ParsedDocument:
    text: str
    title: str
    # (start, end, page_number) spans, 1-based page numbers; empty when pages are unknown.
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    # One-line notes for the person indexing (e.g. the encoding a non-UTF-8 file was read in).
    warnings: list[str] = field(default_factory=list)
    # Pages read by OCR (scanned PDF pages without a text layer, image files) and its seconds.
    ocr_pages: int = 0
    ocr_seconds: float = 0.0

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


MAX_LINE_CHARS = 1_000_000  # characters in one line of a text or Markdown file


def _check_text(text: str) -> str:
    if not text.strip():
        raise BadDocument("no text in the file (empty or only whitespace)")
    letters = sum(ch.isalnum() for ch in text[:20000])
    if letters < 0.3 * min(len(text), 20000):
        raise BadDocument("does not look like text (too few letters or digits)")
    return text


def _check_lines(raw: str) -> None:
    """A text file is lines of prose: one of a million characters (a dump, a minified file, a
    whole book with its line breaks lost) would take many minutes to embed as thousands of
    chunks cut at arbitrary places, so it is refused at once, in one line, before any work."""
    longest = max(map(len, raw.split("\n")), default=0)
    if longest > MAX_LINE_CHARS:
        raise BadDocument(
            f"a line of {longest:,} characters without a line break (the most is {MAX_LINE_CHARS:,}); "
            "split it into paragraphs"
        )


def _read_plain(path: Path, data: bytes) -> ParsedDocument:
    warnings: list[str] = []
    raw = clean(decode(data, warnings))
    _check_text(raw)
    _check_lines(raw)
    title = None
    if path.suffix.lower() == ".md":
        text, title = markdown_to_text(raw)
    else:
        text = join_plain_lines(raw)
    return ParsedDocument(text=_check_text(text), title=title or path.stem, warnings=warnings)


def _read_html(path: Path, data: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup

    warnings: list[str] = []
    soup = BeautifulSoup(decode(data, warnings), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    text = clean(html_to_text(soup.body or soup))
    return ParsedDocument(text=_check_text(text), title=title or path.stem, warnings=warnings)


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
        page_texts = [join_pdf_lines(clean(page.extract_text() or "")).strip() for page in reader.pages]
        meta_title = None
        try:
            meta_title = reader.metadata.title if reader.metadata else None
        except Exception:  # noqa: BLE001 - broken metadata is not worth failing for
            meta_title = None
    except BadDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadDocument(f"corrupt or unreadable PDF ({type(exc).__name__})") from exc
    doc = ParsedDocument(text="", title=meta_title or path.stem)
    if not all(page_texts):
        _ocr_empty_pages(data, page_texts, doc)
    parts: list[str] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        doc.pages.append((offset, offset + len(page_text), number))
        parts.append(page_text)
        offset += len(page_text)
    doc.text = "".join(parts)
    if not doc.text.strip():
        raise BadDocument(f"PDF has no text (no text layer, and {NO_TEXT})")
    _check_text(doc.text)
    return doc


def _ocr_empty_pages(data: bytes, page_texts: list[str], doc: ParsedDocument) -> None:
    """Fill in, by OCR, the pages whose text layer is empty (scans); pages with a text layer
    keep it. Pages where OCR finds nothing stay empty and are named in one warning."""
    from ._ocr import PdfPages

    renderer = PdfPages(data)
    empty: list[int] = []
    try:
        for index, page_text in enumerate(page_texts):
            if page_text:
                continue
            result = renderer.ocr(index)
            doc.ocr_pages += result.ran
            doc.ocr_seconds += result.seconds
            page_texts[index] = result.text
            if result.ran and not result.text:
                empty.append(index + 1)
    finally:
        renderer.close()
    if empty:
        doc.warnings.append(f"{NO_TEXT} on page{'s' if len(empty) > 1 else ''} " + ", ".join(map(str, empty)))


def _read_image(path: Path, data: bytes) -> ParsedDocument:
    """An image file is one page of text read by OCR."""
    from ._ocr import read_image

    result = read_image(data)
    text = _check_text(result.text)
    return ParsedDocument(
        text=text, title=path.stem, pages=[(0, len(text), 1)], ocr_pages=1, ocr_seconds=result.seconds
    )


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
    text = clean("\n\n".join(paragraphs))
    title = (document.core_properties.title or "").strip() or path.stem
    return ParsedDocument(text=_check_text(text), title=title)


_READERS = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".png": _read_image,
    ".jpg": _read_image,
    ".jpeg": _read_image,
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


def unsupported_reason(path: Path) -> str:
    """Why ``path`` is not read, in one line (the walk and :func:`parse_document` say it alike)."""
    return f"unsupported file type {path.suffix or '(none)'}; use one of " + ", ".join(SUPPORTED_SUFFIXES)


# The web chat checks an upload by parsing it, then indexes it, which parses it again: OCR
# takes seconds a page, so the last few results that needed it are kept by name and content.
_OCR_SUFFIXES = frozenset((".pdf", ".png", ".jpg", ".jpeg"))
_OCR_KEPT = 8
_ocr_parsed: OrderedDict[tuple[str, str], ParsedDocument] = OrderedDict()
_ocr_lock = threading.Lock()


def parse_document(path: Path, data: bytes | None = None, digest: str | None = None) -> ParsedDocument:
    """Parse one file; raises :class:`BadDocument` with a one-line reason. ``digest``, the
    :func:`content_hash` of ``data`` when the caller has it, saves hashing it again."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise BadDocument(unsupported_reason(path))
    if data is None:
        data = read_bytes(path)
    if not data:
        raise BadDocument("empty file")
    if suffix not in _OCR_SUFFIXES:
        return reader(path, data)
    key = (path.name, digest or content_hash(data))
    with _ocr_lock:
        kept = _ocr_parsed.get(key)
        if kept is not None:
            _ocr_parsed.move_to_end(key)
            return _copy(kept)
    parsed = reader(path, data)
    if parsed.ocr_pages:
        with _ocr_lock:
            _ocr_parsed[key] = parsed
            while len(_ocr_parsed) > _OCR_KEPT:
                _ocr_parsed.popitem(last=False)
    return _copy(parsed)


def _copy(parsed: ParsedDocument) -> ParsedDocument:
    """A caller's own copy: what it appends to a list must not change the kept result."""
    return replace(parsed, pages=list(parsed.pages), warnings=list(parsed.warnings))
