"""Text cleaning shared by the readers: decoding, control characters, and joining hard-wrapped lines.

A wrapped line is not a sentence end. PDFs, e-mails and many ``.txt`` files break lines at
a fixed width, and the sentence splitter treats every line break as the end of a sentence,
so a sentence that wraps would be cut in two (and a figure in its second half would lose
its subject). These helpers join such lines *before* indexing: the indexed text is the
cleaned text, so citations stay exact offsets into it.
"""

from __future__ import annotations

import re

# A paragraph whose longest line is wider than this was not hard-wrapped (lines are paragraphs).
PLAIN_WRAP_MAX = 132
# A line at least this share of its paragraph's (PDF: page's) longest line ran to the margin.
FULL_LINE_SHARE = 0.7
# A paragraph whose longest line is shorter than this is a list of short lines (address, poem).
MIN_WRAP_WIDTH = 40
# Share of the first 20,000 characters that must be ASCII for a cp1252 / Latin-1 reading to count.
FALLBACK_ASCII_SHARE = 0.7

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad]")
_LIST_ITEM = re.compile(r"\s*(?:[-*+\u2022\u2023\u25e6\u25aa\u2013\u2014]|\(?\d{1,3}[.)]|\(?[A-Za-z][.)])\s")
_HEADER = re.compile(r"[A-Z][A-Za-z0-9-]{0,40}:(?:\s|$)")
_QUOTE = re.compile(r"(?:[ \t]*>)+[ \t]?")
_HYPHEN_END = re.compile(r"[^\W\d_]-$")
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"')\]\u2019\u201d]*\s*$")


class BadDocument(Exception):
    """A file that cannot be indexed; ``str()`` is a one-line reason."""


def decode(data: bytes, warnings: list[str]) -> str:
    """UTF-8 (or UTF-16 with a BOM); else cp1252, else Latin-1, adding one line to ``warnings``."""
    if b"\x00" in data[:8192] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise BadDocument("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadDocument("not valid UTF-16 text despite its byte-order mark") from exc
    for encoding, name in (("cp1252", "cp1252 (Windows-1252)"), ("latin-1", "Latin-1 (ISO-8859-1)")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        head = text[:20000]
        if sum(ch.isascii() for ch in head) < FALLBACK_ASCII_SHARE * len(head):
            break  # mostly non-ASCII: another encoding (or junk) that this reading would garble
        warnings.append(f"not UTF-8; read as {name}")
        return text
    raise BadDocument(
        "not valid UTF-8 text (undecodable bytes, not cp1252/Latin-1 either); convert it to UTF-8"
    )


def clean(text: str) -> str:
    """Unix line ends; control characters (and soft hyphens) out, as they confuse the tokenizer."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: "" if m.group() == "\u00ad" else " ", text)


def _is_list_item(line: str) -> bool:
    return _LIST_ITEM.match(line) is not None


def _append(parts: list[str], right: str, dehyphenate: bool) -> None:
    """Append ``right``, the wrapped continuation of the line ``parts[-1]``: after a space, or
    directly after a hyphenated break (dropping the hyphen before a lowercase letter)."""
    left = parts[-1]
    if _HYPHEN_END.search(left):
        if dehyphenate and right[:1].islower():
            parts[-1] = left[:-1]  # "exam-" + "ple"
        parts.append(right)  # "Baku-" + "Tbilisi"
    else:
        parts.extend((" ", right))


def _wrapped(lines: list[str], i: int, width: int) -> bool:
    """Whether ``lines[i]`` ran to the margin and ``lines[i + 1]`` merely continues it."""
    nxt = lines[i + 1]
    if _is_list_item(nxt):
        return False
    if len(nxt) - len(nxt.lstrip()) > len(lines[i]) - len(lines[i].lstrip()):
        return False  # an indented line starts something (a paragraph, a code sample)
    return len(lines[i].strip()) >= FULL_LINE_SHARE * width


def _join_block(lines: list[str], dehyphenate: bool) -> str:
    """One paragraph's lines, wrapped ones joined (see :func:`join_plain_lines`)."""
    widths = [len(line.strip()) for line in lines]
    width = max(widths)
    hard_wrapped = len(lines) > 1 and MIN_WRAP_WIDTH <= width <= PLAIN_WRAP_MAX
    # one sentence (or record) per line: most lines end a sentence, where wrapped prose rarely does
    ended = sum(1 for line in lines[:-1] if _ENDS_SENTENCE.search(line))
    hard_wrapped = hard_wrapped and 2 * ended <= len(lines) - 1
    headers = sum(1 for line in lines if _HEADER.match(line))
    if not hard_wrapped or (_HEADER.match(lines[0]) and 2 * headers >= len(lines)):
        return "\n".join(line.rstrip() for line in lines)
    parts = [lines[0].rstrip()]  # a list, not +=: a paragraph can be millions of lines
    for i in range(len(lines) - 1):
        nxt = lines[i + 1]
        if _wrapped(lines, i, width):
            _append(parts, nxt.strip(), dehyphenate)
        else:
            parts.extend(("\n", nxt.rstrip()))
    return "".join(parts)


def join_plain_lines(text: str) -> str:
    """Join hard-wrapped lines of plain text and e-mail, conservatively.

    Paragraphs are runs of lines between blank lines; e-mail quote markers (``>``) are
    removed and a change of quoting depth also ends a paragraph. Inside a paragraph whose
    longest line is between ``MIN_WRAP_WIDTH`` and ``PLAIN_WRAP_MAX`` characters, a line
    is joined to the next (with one space) only when it reaches ``FULL_LINE_SHARE`` of that
    width, i.e. it was wrapped at the margin; a paragraph where most lines end a sentence
    is one sentence (or record) per line and keeps them. A line break stays before a list item or an
    indented line, after a short line (a heading, a salutation, a signature or address
    line), and throughout a header block ("From:", "Subject:" ...). Lines that are already
    whole paragraphs (wider than ``PLAIN_WRAP_MAX``) are left alone.
    """
    pieces: list[str] = []
    block: list[str] = []
    depth = 0
    pending = ""  # what separates the next paragraph from the previous one

    def flush() -> None:
        nonlocal pending
        if block:
            if pieces:
                pieces.append(pending or "\n")
            pieces.append(_join_block(block, dehyphenate=False))
            block.clear()
            pending = ""

    for raw in text.split("\n"):
        marker = _QUOTE.match(raw)
        line_depth = marker.group().count(">") if marker else 0
        line = raw[marker.end() :] if marker else raw
        if not line.strip():
            flush()
            pending = "\n\n"
            continue
        if line_depth != depth:
            flush()
            depth = line_depth
        block.append(line)
    flush()
    return "".join(pieces)


def join_pdf_lines(page_text: str) -> str:
    """Join a PDF page's wrapped lines; de-hyphenate "exam-" + "ple"; keep paragraph breaks.

    pypdf gives one line per printed line and often no blank line between paragraphs, so
    a paragraph ends where a line stops short of the page's longest line (the last line of
    a paragraph, a heading) or where the next line is a list item or indented. Blank lines,
    where pypdf gives them, stay paragraph breaks; a page of short lines only (a slide) is
    left as it is.
    """
    lines = [line.rstrip() for line in page_text.split("\n")]
    width = max((len(line.strip()) for line in lines), default=0)
    parts: list[str] = []
    after_blank = False
    for i, line in enumerate(lines):
        if not line.strip():
            after_blank = bool(parts)
            continue
        if parts and not after_blank and width >= MIN_WRAP_WIDTH and _wrapped(lines, i - 1, width):
            _append(parts, line.strip(), dehyphenate=True)
        else:
            if parts:
                parts.append("\n\n" if after_blank else "\n")
            parts.append(line.strip())
        after_blank = False
    return "".join(parts)
