"""An update's plan: which documents stay as they are, which are (re)read, which go.

The walk reads and hashes every file of a supported type; a file whose hash the live
generation already holds is kept without being parsed. A file that cannot be read now but
was indexed before keeps its last good version rather than being lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._build import cause
from ._readers import BadDocument, ParsedDocument, content_hash, parse_document, read_bytes
from ._report import IndexReport
from ._walk import FAILED, INVALID, UNREADABLE, UNREADABLE_FOLDER, UNSUPPORTED, walk

# A file whose size and modification time are those recorded when it was last hashed is
# taken as unchanged without reading it, unless it was modified within this many
# nanoseconds of that hashing (a coarse-grained clock could hide a second write).
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Keep:
    """A document the live generation holds as it is: it stays in its segment."""

    key: str
    hash: str
    stat: dict[str, int] | None = None  # a fresh size/mtime record, when the file was read again


@dataclass(frozen=True)
class Change:
    """A new or changed document, read and ready to chunk and embed."""

    key: str
    hash: str
    parsed: ParsedDocument
    stat: dict[str, int] | None = None


@dataclass
class Plan:
    items: list[Keep | Change] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)  # key -> file, for reports

    @property
    def keys(self) -> set[str]:
        return {p.key for p in self.items}

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Size and modification time of each file read, for the next update's quick check."""
        return {p.key: p.stat for p in self.items if p.stat is not None}

    @property
    def changes(self) -> list[Change]:
        return [p for p in self.items if isinstance(p, Change)]

    def drop(self, key: str) -> None:
        self.items = [p for p in self.items if p.key != key]


def plan_update(
    root: Path, previous: dict[str, dict[str, Any]], report: IndexReport, warn: Callable[[str], None]
) -> Plan:
    """Walk ``root`` against ``previous`` (the live manifest's documents: key -> hash, ...)."""
    plan = Plan()
    base = root if root.is_dir() else root.parent

    def skip(path: Path, key: str | None, kind: str, reason: str, quiet: bool = False) -> None:
        if not quiet:
            warn(f"skipped {path}: {reason}")
        report.skip(str(path), kind, reason)
        if key in previous:  # keep the last good version rather than lose it
            plan.items.append(Keep(key, previous[key]["hash"]))

    walked = walk(root)
    for left_out in walked.skipped:  # unsupported types are only counted: a folder may hold many
        where = Path(left_out.path)
        skip(where, None, left_out.kind, left_out.reason, quiet=left_out.kind == UNSUPPORTED)
        if left_out.kind in (UNREADABLE, UNREADABLE_FOLDER):  # still there, only unreadable now
            rel = where.relative_to(base).as_posix() if where != base else ""
            for key, info in previous.items():
                if key == rel or not rel or key.startswith(rel + "/"):
                    plan.items.append(Keep(key, info["hash"]))
    report.found = len(walked.files)
    for path in walked.files:
        key = path.relative_to(base).as_posix()
        plan.paths[key] = path
        stat = _stat(path)
        if key in previous and _same_file(previous[key], stat):
            plan.items.append(Keep(key, previous[key]["hash"]))
            report.unchanged.append(key)
            continue
        try:
            data = read_bytes(path)
        except BadDocument as exc:
            skip(path, key, UNREADABLE, str(exc))
            continue
        digest = content_hash(data)
        if key in previous and previous[key]["hash"] == digest:
            plan.items.append(Keep(key, digest, stat))
            report.unchanged.append(key)
            continue
        try:
            parsed = parse_document(path, data)
            report.ocr_pages += parsed.ocr_pages
            report.ocr_seconds += parsed.ocr_seconds
            for note in parsed.warnings:
                warn(f"{path}: {note}")
        except BadDocument as exc:
            skip(path, key, INVALID, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others
            skip(path, key, FAILED, f"failed while reading it ({cause(exc)})")
            continue
        plan.items.append(Change(key, digest, parsed, stat))
        (report.updated if key in previous else report.added).append(key)
    planned = plan.keys
    report.removed = sorted(k for k in previous if k not in planned)
    return plan


def _stat(path: Path) -> dict[str, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "seen_ns": time.time_ns()}


def _same_file(recorded: dict[str, Any], stat: dict[str, int] | None) -> bool:
    """The file is as it was when last hashed: same size and modification time, and not
    modified so close to that hashing that a second write could share the timestamp."""
    return (
        stat is not None
        and recorded.get("size") == stat["size"]
        and recorded.get("mtime_ns") == stat["mtime_ns"]
        and stat["mtime_ns"] < int(recorded.get("seen_ns", 0)) - RACY_NS
    )


def drop_failed(
    plan: Plan,
    failed: dict[str, str],
    previous: dict[str, dict[str, Any]],
    report: IndexReport,
    warn: Callable[[str], None],
) -> None:
    """Files that failed while chunking or embedding are skipped like unreadable ones
    (keeping their last good version, if any)."""
    for key, reason in failed.items():
        plan.drop(key)
        if key in previous:
            plan.items.append(Keep(key, previous[key]["hash"]))
        for done in (report.added, report.updated):
            if key in done:
                done.remove(key)
        path = plan.paths[key]
        warn(f"skipped {path}: {reason}")
        report.skip(str(path), FAILED, reason)
