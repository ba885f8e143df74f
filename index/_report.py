"""What an update is asked to do (``IndexConfig``) and what it did (``IndexReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._embed import DEFAULT_EMBED_MODEL
from ._errors import IndexMismatch

DEFAULT_CHUNK_SIZE = 200
DEFAULT_CHUNK_OVERLAP = 40
DENSE_INDEXES = ("auto", "flat", "ivf")


@dataclass
class IndexConfig:
    embed_model: str = DEFAULT_EMBED_MODEL
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    batch_size: int = 32
    reader: str | None = None  # the reader version answering from this index (recorded, not checked)
    # FAISS' dense index per segment: exact ("flat"), approximate ("ivf"), or "auto": exact
    # below the size where a flat search stops meeting the latency target (``_faiss``);
    # None keeps what the index records ("auto" for a new one)
    dense_index: str | None = None

    def validate(self) -> None:
        if self.dense_index is not None and self.dense_index not in DENSE_INDEXES:
            raise IndexMismatch(
                f"dense_index must be one of {', '.join(DENSE_INDEXES)} (got {self.dense_index!r})"
            )
        if self.chunk_size < 32:
            raise IndexMismatch(f"chunk_size must be at least 32 tokens (got {self.chunk_size})")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise IndexMismatch(
                f"chunk_overlap must be between 0 and chunk_size-1 (got {self.chunk_overlap})"
            )


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    skip_counts: dict[str, int] = field(default_factory=dict)  # reason kind -> files (see _walk)
    found: int = 0  # files of a supported type the walk found, indexed or not
    n_documents: int = 0
    n_chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    index_dir: str = ""
    ocr_pages: int = 0  # pages read by OCR (scanned PDF pages, image files) in this update
    ocr_seconds: float = 0.0

    def skip(self, path: str, kind: str, reason: str) -> None:
        """Record a file left out; ``kind`` is what the summary counts it under."""
        self.skipped.append((path, reason))
        self.skip_counts[kind] = self.skip_counts.get(kind, 0) + 1

    def skipped_by_reason(self) -> dict[str, int]:
        """Skipped files per reason kind, most first (entries added without :meth:`skip` count as other)."""
        counts = dict(self.skip_counts)
        other = len(self.skipped) - sum(counts.values())
        if other > 0:
            counts["other"] = counts.get("other", 0) + other
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def summary(self) -> str:
        """One line; the skipped files are counted by reason (``report.skipped`` lists them)."""
        skipped = f"{len(self.skipped)} skipped"
        if self.skipped:
            skipped += " (" + ", ".join(f"{n} {kind}" for kind, n in self.skipped_by_reason().items()) + ")"
        ocr = ""
        if self.ocr_pages > 0:
            ocr = f"; {self.ocr_pages} page{'s' if self.ocr_pages != 1 else ''} OCR'd in {self.ocr_seconds:.1f}s"
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {skipped}; "
            f"{self.n_documents} documents, {self.n_chunks} chunks in {self.index_dir} "
            f"({self.seconds:.1f}s){ocr}"
        )
