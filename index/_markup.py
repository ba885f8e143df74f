"""HTML and Markdown to plain text in which only block structure breaks lines.

Inline elements (``<b>``, ``<a>``, ``<img>``, ``**bold**``, ``[link](url)``) flow into the
sentence around them; block elements (paragraphs, headings, list items, table rows) end
it. Markup never reaches the indexed text, so quotes and the sources panel show none.
"""

from __future__ import annotations

import re
from typing import Any

# Elements that start and end a block of text; any other element flows inline.
_BLOCKS = (
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav "
    "ol p pre section summary table tbody tfoot thead tr ul"
)
BLOCK_TAGS = frozenset(_BLOCKS.split())
_CELL_TAGS = frozenset(("td", "th"))
_SKIP_TAGS = frozenset(("script", "style", "noscript", "template", "head", "title", "img"))
_SPACE = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_BREAK = "\ue000"  # a <br> while the block's source whitespace (newlines included) collapses


class _Blocks:
    """Collects text into blocks: whitespace inside one collapses; blocks end at block tags."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.parts: list[str] = []

    def text(self, value: str) -> None:
        self.parts.append(value)

    def end_block(self) -> None:
        block = "\n".join(_SPACE.sub(" ", line).strip() for line in "".join(self.parts).split(_BREAK))
        block = "\n".join(line for line in block.split("\n") if line)
        if block:
            self.blocks.append(block)
        self.parts = []

    def raw_block(self, value: str) -> None:
        """Preformatted text: its own block, line breaks kept."""
        self.end_block()
        lines = [line.rstrip() for line in value.split("\n")]
        block = "\n".join(line for line in lines if line.strip())
        if block:
            self.blocks.append(block)

    def result(self) -> str:
        self.end_block()
        return "\n\n".join(self.blocks)


def html_to_text(node: Any) -> str:
    """The text of a BeautifulSoup node; ``<br>`` is a line break, table cells are joined by " | "."""
    from bs4 import Comment, NavigableString, Tag
    from bs4.element import CData, Declaration, Doctype, ProcessingInstruction

    out = _Blocks()
    skip_strings = (Comment, CData, Declaration, Doctype, ProcessingInstruction)
    stack: list[tuple[Any, bool]] = [(node, True)]  # iterative: deep nesting must not overflow
    while stack:
        item, entering = stack.pop()
        if isinstance(item, NavigableString):
            if not isinstance(item, skip_strings):
                out.text(str(item))
            continue
        if not isinstance(item, Tag):
            continue
        name = (item.name or "").lower()
        if not entering:
            if name in BLOCK_TAGS:
                out.end_block()
            continue
        if name in _SKIP_TAGS and item is not node:
            continue
        if name == "br":
            out.text(_BREAK)
            continue
        if name == "pre":
            out.raw_block(item.get_text())
            continue
        if name in BLOCK_TAGS:
            out.end_block()
        elif name in _CELL_TAGS and "".join(out.parts).strip():
            out.text(" | ")
        stack.append((item, False))
        stack.extend((child, True) for child in reversed(item.contents))
    return out.result()


def _html_fragment(html: str) -> str:
    from bs4 import BeautifulSoup

    return html_to_text(BeautifulSoup(html, "html.parser"))


def _inline(token: Any) -> str:
    """An inline token's text without its markup: emphasis, links, code spans and images."""
    parts: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "text_special", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
    return "\n".join(_SPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))


def markdown_to_text(source: str) -> tuple[str, str | None]:
    """Markdown as plain text, and its first heading (the title), via markdown-it-py.

    Headings, paragraphs, list items and table rows are each their own line; list items
    and table rows are separated by one line break, other blocks by a blank line.
    List bullets and counters go (a number of 100 or more stays: "1990. The..." opening a
    paragraph is content that CommonMark parses as a list marker). Code blocks keep their
    lines; HTML in the Markdown is read as HTML.
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(source)
    blocks: list[tuple[str, bool]] = []  # text, tight (one line break before it)
    title: str | None = None
    in_list = 0
    prefix = ""
    row: list[str] | None = None
    for i, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            in_list += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            in_list -= 1
        elif kind == "list_item_open":
            # "1." is a list counter and goes; "1990." opening a paragraph is content that
            # CommonMark happens to parse as a list marker, and stays
            prefix = f"{token.info}{token.markup} " if token.info.isdigit() and int(token.info) >= 100 else ""
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            blocks.append((" | ".join(cell for cell in row if cell), True))
            row = None
        elif kind == "inline":
            text = _inline(token)
            if row is not None:
                row.append(text)
                continue
            if text.strip():
                blocks.append((prefix + text, in_list > 0))
                if title is None and i and tokens[i - 1].type == "heading_open":
                    title = text.strip()
            prefix = ""
        elif kind in ("fence", "code_block"):
            text = "\n".join(line.rstrip() for line in token.content.split("\n") if line.strip())
            if text:
                blocks.append((text, False))
        elif kind == "html_block":
            text = _html_fragment(token.content)
            if text:
                blocks.append((text, False))
    pieces: list[str] = []
    for i, (text, tight) in enumerate(blocks):
        if i:
            pieces.append("\n" if tight and blocks[i - 1][1] else "\n\n")
        pieces.append(text)
    return "".join(pieces), title
