"""An update's plan: which documents stay as they are, which are (re)read, which go.

The walk reads and hashes every file of a supported type; a file whose hash the live
generation already holds is kept without being parsed. A file that cannot be read now but
was indexed before keeps its last good version rather than being lost.
"""

from __future__ import annotations

import os
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


@dataclass(slots=True)
class Change:
    """A new or changed document, read and ready to chunk and embed."""

    key: str
    hash: str
    parsed: ParsedDocument


@dataclass
class Plan:
    """What an update does to each document. Kept ones are a mapping, not objects: at 1M
    chunks a folder holds 100k files and nearly all of them stay as they are."""

    kept: dict[str, str] = field(default_factory=dict)  # key -> hash: live documents that stay
    changes: list[Change] = field(default_factory=list)
    # size and modification time of each file read, for the next update's quick check
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # key -> file of each file read, for reports

    @property
    def keys(self) -> set[str]:
        return set(self.kept) | {c.key for c in self.changes}

    @property
    def stats_to_record(self) -> bool:
        """Whether an unchanged file was hashed again and its size and time, once recorded, let
        the next update skip reading it (files touched but not changed: a checkout, a copy)."""
        return any(
            key in self.kept and st["mtime_ns"] < st["seen_ns"] - RACY_NS for key, st in self.stats.items()
        )

    def keep(self, key: str, digest: str, stat: dict[str, int] | None = None) -> None:
        self.kept[key] = digest
        if stat is not None:
            self.stats[key] = stat

    def drop(self, key: str) -> None:
        self.kept.pop(key, None)
        self.stats.pop(key, None)
        self.changes = [c for c in self.changes if c.key != key]


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
            plan.keep(key, previous[key]["hash"])

    walked = walk(root)
    for left_out in walked.skipped:  # unsupported types are only counted: a folder may hold many
        where = Path(left_out.path)
        skip(where, None, left_out.kind, left_out.reason, quiet=left_out.kind == UNSUPPORTED)
        if left_out.kind in (UNREADABLE, UNREADABLE_FOLDER):  # still there, only unreadable now
            rel = where.relative_to(base).as_posix() if where != base else ""
            for key, info in previous.items():
                if key == rel or not rel or key.startswith(rel + "/"):
                    plan.keep(key, info["hash"])
    report.found = len(walked.files)
    root_prefix = str(base) if str(base).endswith(os.sep) else str(base) + os.sep
    prefix = len(root_prefix)
    kept, unchanged = plan.kept, report.unchanged
    for found in walked.files:
        # what relative_to(base).as_posix() gives, faster (the walk joins names onto the root)
        key = found.path[prefix:] if found.path.startswith(root_prefix) else os.path.relpath(found.path, base)
        if os.sep != "/":
            key = key.replace(os.sep, "/")
        info = previous.get(key)
        if (  # as when last hashed, and not modified so close to it that a second write hides
            info is not None
            and info.get("mtime_ns") == found.mtime_ns
            and info.get("size") == found.size
            and found.mtime_ns < info.get("seen_ns", 0) - RACY_NS
        ):
            kept[key] = info["hash"]  # plan.keep without its call: 100k times at 1M chunks
            unchanged.append(key)
            continue
        plan.paths[key] = found.path
        path = Path(found.path)
        stat = {"size": found.size, "mtime_ns": found.mtime_ns, "seen_ns": time.time_ns()}
        try:
            data = read_bytes(path)
        except BadDocument as exc:
            skip(path, key, UNREADABLE, str(exc))
            continue
        digest = content_hash(data)
        if key in previous and previous[key]["hash"] == digest:
            plan.keep(key, digest, stat)
            report.unchanged.append(key)
            continue
        try:
            parsed = parse_document(path, data, digest)
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
        plan.changes.append(Change(key, digest, parsed))
        plan.stats[key] = stat
        (report.updated if key in previous else report.added).append(key)
    planned = plan.keys
    report.removed = sorted(k for k in previous if k not in planned)
    return plan


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
            plan.keep(key, previous[key]["hash"])
        for done in (report.added, report.updated):
            if key in done:
                done.remove(key)
        path = plan.paths[key]
        warn(f"skipped {path}: {reason}")
        report.skip(str(path), FAILED, reason)
