"""The doors' parts on their own: login throttle window, upload names, temp cleanup, causes."""

from __future__ import annotations

import pytest


class Clock:
    """A settable clock, so a 60 s window is checked without waiting a minute."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_throttle_counts_failures_in_a_sliding_window():
    from ui._guard import LOGIN_FAILURES, LOGIN_WINDOW_S, LoginThrottle

    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    assert (LOGIN_FAILURES, LOGIN_WINDOW_S) == (5, 60.0)
    for _ in range(4):
        throttle.failed("10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == pytest.approx(56.0)
    assert throttle.retry_after("10.0.0.2") == 0, "other clients are not affected"
    clock.now += 56.5  # the oldest failure has left the window
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") > 0
    throttle.succeeded("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0


def test_free_name_keeps_both(tmp_path):
    from ui._uploads import free_name

    (tmp_path / "report.pdf").write_bytes(b"x")
    assert free_name(tmp_path, "new.pdf", set()) == "new.pdf"
    assert free_name(tmp_path, "report.pdf", set()) == "report (2).pdf"
    (tmp_path / "report (2).pdf").write_bytes(b"x")
    assert free_name(tmp_path, "report (2).pdf", set()) == "report (3).pdf"
    assert free_name(tmp_path, "report.pdf", {"report (3).pdf"}) == "report (4).pdf"


def test_discard_upload_only_touches_gradios_upload_folder(tmp_path, monkeypatch):
    from ui._uploads import discard_upload

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    upload = tmp_path / "gradio" / "abc123" / "notes.txt"
    upload.parent.mkdir(parents=True)
    upload.write_text("x")
    mine = tmp_path / "docs" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("x")
    discard_upload(mine)
    assert mine.exists(), "a file outside the upload folder is never deleted"
    discard_upload(upload)
    assert not upload.exists() and not upload.parent.exists() and (tmp_path / "gradio").is_dir()
    discard_upload(upload)  # already gone: nothing to do, no error


def test_cause_is_one_short_line_with_the_kind():
    from qa import QAError
    from ui._causes import cause

    long = ValueError("pattern too large\n" + "(a|b)" * 1000)
    assert cause(long) == "ValueError: pattern too large"
    assert len(cause(RuntimeError("x" * 5000))) <= 240 and "\n" not in cause(RuntimeError("y\nz"))
    assert cause(QAError("the index is busy")) == "the index is busy"
    assert cause(MemoryError()) == "MemoryError"
