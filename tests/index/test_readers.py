"""Each supported format yields the exact text chunks point into; bad files give one clear reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _makers import make_docx, make_pdf

from index import BadDocument, parse_document
from index._walk import iter_files, walk

REPO = Path(__file__).resolve().parents[2]


def test_txt_and_md(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text here.\nSecond line.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Heading Title\n\nSome *markdown* body.", encoding="utf-8")
    a = parse_document(tmp_path / "a.txt")
    b = parse_document(tmp_path / "b.md")
    assert a.text == "Plain text here.\nSecond line." and a.title == "a"
    assert b.title == "Heading Title" and "markdown" in b.text


def test_html_drops_scripts_and_keeps_title(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><title>Gabala Summit</title><script>alert(1)</script></head>"
        "<body><h1>Summit</h1><p>The summit was held in <b>Gabala</b>.</p></body></html>",
        encoding="utf-8",
    )
    doc = parse_document(page)
    assert doc.title == "Gabala Summit"
    assert "alert" not in doc.text
    assert "The summit was held in" in doc.text and "Gabala" in doc.text


def test_pdf_has_page_numbers(tmp_path):
    path = tmp_path / "r.pdf"
    make_pdf(path, ["First page talks about oil exports.", "Second page is about the fiber cable."], "Pipeline report")
    doc = parse_document(path)
    assert doc.title == "Pipeline report"
    offset = doc.text.index("fiber cable")
    assert doc.page_at(offset) == 2
    assert doc.page_at(doc.text.index("oil exports")) == 1


def test_docx(tmp_path):
    path = tmp_path / "d.docx"
    make_docx(path, ["Kazakh investments stand at 136 million.", "Second paragraph."], "Investments")
    doc = parse_document(path)
    assert doc.title == "Investments"
    assert "136 million" in doc.text and "Second paragraph." in doc.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("junk.txt", bytes(range(256)) * 40, "binary"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
        ("high-bytes.txt", bytes(range(1, 256)) * 40, "UTF-8"),  # not text in any 8-bit reading either
        ("empty.md", b"", "empty"),
        ("blank.txt", b"   \n\n  ", "no text"),
        ("fake.docx", b"this is not a zip file", "DOCX"),
        ("image.png", b"\x89PNG", "unreadable image"),  # read by OCR, so a broken one is one line
        ("drawing.gif", b"GIF89a", "unsupported"),
    ],
)
def test_bad_files_have_one_line_reasons(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadDocument) as info:
        parse_document(path)
    message = str(info.value)
    assert reason.lower() in message.lower()
    assert "\n" not in message


def test_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("top secret text", encoding="utf-8")
    path.chmod(0)
    tmp_path.chmod(0o755)
    code = (
        "import sys; from pathlib import Path; from index._readers import parse_document, BadDocument\n"
        "try:\n    parse_document(Path(sys.argv[1]))\nexcept BadDocument as e:\n    print(e)\n"
    )
    cmd = [sys.executable, "-c", code, str(path)]
    if os.geteuid() == 0:  # root reads anything; check as an unprivileged user instead
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True)
    assert "permission denied" in out.stdout


def test_iter_files_skips_hidden_and_unsupported(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("a.txt", "sub/b.md", ".hidden/c.txt", "d.gif", "sub/.e.txt"):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_files(tmp_path)] == ["a.txt", "sub/b.md"]


def test_walk_orders_files_as_paths_sort_and_records_their_stat(tmp_path):
    # "a-b/x.txt" < "a/x.txt" as strings, but Paths compare part by part: a/ comes first
    for rel in ("a-b/x.txt", "a/x.txt", "a/y/z.md", "a.txt", "A.md", "b.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x" * len(rel), encoding="utf-8")
    found = walk(tmp_path).files
    assert [Path(f.path) for f in found] == sorted(tmp_path.rglob("*.*"), key=Path) == iter_files(tmp_path)
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in found][:3] == ["A.md", "a/x.txt", "a/y/z.md"]
    for f in found:  # the quick check of the next update compares these: no second stat
        st = os.stat(f.path)
        assert (f.size, f.mtime_ns) == (st.st_size, st.st_mtime_ns)
