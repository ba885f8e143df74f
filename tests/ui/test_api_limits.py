"""POST /v1/documents refuses an oversized upload before reading it: a live `qa serve` (1 MB per
file, behind a login) and raw sockets that can watch when the answer comes; the part counter
against real multipart bodies, as httpx encodes them, fed in chunks of every size."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _uihelpers import SEEDS, free_port, qa_serve

USER, PASSWORD = "reader", "s3cret"
LIMIT_MB = 1
SEED_DOC = "000_5c5733213d75056c.txt"
BOUNDARY = "qa-test-boundary-7f3a"
PER_REQUEST = "a request may carry 10 files of at most 1 MB each"


@dataclass
class Served:
    host: str
    port: int
    docs: Path
    tmp: Path  # the server's TMPDIR

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def on_disk(self) -> tuple[list[str], list[str]]:
        """What is in the documents folder and the temp folder, to compare before and after."""
        return sorted(p.name for p in self.docs.iterdir()), sorted(str(p) for p in self.tmp.rglob("*"))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("api-limits")
    shutil.copytree(SEEDS, root / "docs")
    (root / "tmp").mkdir()
    logins = root / "logins"
    logins.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    port = free_port()
    args = ["--docs", str(root / "docs"), "--index-dir", str(root / "index"), "--port", str(port)]
    args += ["--auth-file", str(logins), "--max-upload-mb", str(LIMIT_MB)]
    env = {"TMPDIR": str(root / "tmp"), "GRADIO_TEMP_DIR": str(root / "tmp" / "gradio")}
    with qa_serve(*args, log=root / "serve.log", env=env):
        yield Served("127.0.0.1", port, root / "docs", root / "tmp")


def _head(port: int, length: str | None, *, login: bool = True) -> bytes:
    """The request line and headers of a multipart upload to /v1/documents."""
    lines = [
        "POST /v1/documents HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {length}" if length else "Transfer-Encoding: chunked",
    ]
    if login:
        lines.append("Authorization: Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _part_head(name: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


def _response(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the response on ``sock`` (read until the body is complete)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b""
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += sock.recv(65536)
    status = int(head.split(b" ")[1])
    return status, json.loads(body[:length])


def _error(status: int, body: dict, expected: int) -> str:
    assert status == expected, body
    message = body["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_content_length_over_the_limit_is_refused_before_a_byte_is_sent(served):
    """The headers alone get the 413: the server answers without waiting for the body."""
    before = served.on_disk()
    with socket.create_connection((served.host, served.port), timeout=10) as sock:
        sock.sendall(_head(served.port, str(11 * 1_000_000)))
        status, body = _response(sock)  # no body sent: a server waiting for it would time out
    message = _error(status, body, 413)
    assert message == f"files: this upload is 11.0 MB; {PER_REQUEST}"
    assert served.on_disk() == before


def test_without_the_login_an_upload_is_refused_before_its_body(served):
    with socket.create_connection((served.host, served.port), timeout=10) as sock:
        sock.sendall(_head(served.port, str(500_000), login=False))
        status, body = _response(sock)
    assert "login is required" in _error(status, body, 401)


def test_a_chunked_upload_is_refused_as_soon_as_a_file_passes_the_limit(served):
    """No Content-Length: the 413 comes while the client is still sending, long before the
    64 MB it would send, and names the file; nothing of it stays in the folders."""
    before = served.on_disk()
    chunk, sent, status, body = b"x" * 65536, 0, 0, {}
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.sendall(_head(served.port, None))
        head = _part_head("flood.txt")
        sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        sock.settimeout(0.0)
        while sent < 64 * 1_000_000:
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the answer came
            except BlockingIOError:
                pass
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except BlockingIOError:
                time.sleep(0.001)
                continue
            sent += len(chunk)
        sock.settimeout(10)
        status, body = _response(sock)
    message = _error(status, body, 413)
    assert message == "files: flood.txt is larger than 1 MB; the limit is 1 MB per file"
    assert sent < 32 * 1_000_000, f"the answer came only after {sent:,} bytes"
    assert served.on_disk() == before


def test_httpx_streaming_a_generator_body_gets_the_same_413(served):
    """The usual client's chunked upload (a generator body): refused with the same line."""
    before = served.on_disk()

    def body() -> Iterator[bytes]:
        yield _part_head("notes.txt")
        for _ in range(48):  # 3 MB
            yield b"y" * 65536
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with httpx.Client(base_url=served.base, auth=(USER, PASSWORD), timeout=60) as http:
        r = http.post("/v1/documents", content=body(), headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413 and "\n" not in r.text.strip()
        assert r.json()["error"] == "files: notes.txt is larger than 1 MB; the limit is 1 MB per file"
        big = [("files", (f"{i}.txt", b"z" * 1_200_000, "text/plain")) for i in range(10)]
        r = http.post("/v1/documents", files=big)  # 12 MB with a Content-Length: refused at once
        assert r.status_code == 413 and r.json()["error"].endswith(PER_REQUEST)
        many = [("files", (f"{i}.txt", b"Aktau port notes.", "text/plain")) for i in range(11)]
        r = http.post("/v1/documents", files=many)
        assert r.status_code == 413 and r.json()["error"] == f"files: {PER_REQUEST}"
        assert http.get("/v1/health").json()["documents"] == 1
    assert served.on_disk() == before
    assert served.on_disk()[0] == [SEED_DOC]


def _encoded(files: list[tuple[str, bytes]]) -> tuple[bytes, bytes]:
    """A multipart body as httpx encodes it, and its boundary."""
    request = httpx.Request(
        "POST", "http://x/v1/documents", files=[("files", (n, d, "text/plain")) for n, d in files]
    )
    content_type = request.headers["content-type"]
    return request.read(), content_type.split("boundary=")[1].encode()


@pytest.mark.parametrize("step", [1, 7, 4096, 65536, 10**9])
def test_the_part_counter_lets_the_limit_through_and_refuses_one_byte_more(step):
    from ui._api_base import UploadTooLarge
    from ui._upload_cap import PartCounter, UploadLimits

    limits = UploadLimits(file_bytes=2000, file_mb=0.002)

    def feed(files: list[tuple[str, bytes]]) -> None:
        body, boundary = _encoded(files)
        counter = PartCounter(boundary, limits)
        for i in range(0, len(body), step):
            counter.feed(body[i : i + step])

    feed([("a.txt", b"a" * 2000), ("b.txt", b"b" * 2000), ("c.txt", b"")])
    with pytest.raises(UploadTooLarge) as err:
        feed([("a.txt", b"a" * 2000), ("b.txt", b"b" * 2001)])
    assert err.value.detail == "files: b.txt is larger than 0.002 MB; the limit is 0.002 MB per file"
    feed([(f"{i}.txt", b"-" * 10) for i in range(10)])
    with pytest.raises(UploadTooLarge) as err:
        feed([(f"{i}.txt", b"-" * 10) for i in range(11)])
    assert err.value.detail == "files: a request may carry 10 files of at most 0.002 MB each"
