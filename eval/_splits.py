"""The train / fit / report splits the data READMEs in ``../shared/data`` define, in one place.

Training may use only ``train``, fitting thresholds only ``fit``, and numbers we publish
come from ``report``. Both the reader's training and ``qa eval --split`` read these, so
a split cannot mean two things.
"""

from __future__ import annotations

SPLITS = ("train", "fit", "report")

# squad2/README.md: by article, never by question
SQUAD2_REPORT = frozenset(
    {"Oxygen", "Black_Death", "Civil_disobedience", "Prime_number", "Jacksonville,_Florida"}
)
SQUAD2_FIT = frozenset({"Pharmacy", "Sky_(United_Kingdom)", "Amazon_rainforest"})


def squad2_split(article: str) -> str:
    """``report``, ``fit`` or ``train`` for a SQuAD 2.0 dev article title."""
    if article in SQUAD2_REPORT:
        return "report"
    if article in SQUAD2_FIT:
        return "fit"
    return "train"


def clapnq_split(lineno: int) -> str:
    """clapnq/README.md: odd lines (1-based) are fit, even lines report; none is for training."""
    return "fit" if lineno % 2 == 1 else "report"


def mtrag_split(conversation_id: str) -> str:
    """mtragun/README.md: conversation ids starting with c, d, e or f are report; the rest
    may be trained and fitted on (``train+fit``)."""
    return "report" if conversation_id[:1].lower() in "cdef" else "train+fit"


def in_split(split: str, wanted: str) -> bool:
    """Whether an item labelled ``split`` belongs to the ``wanted`` split."""
    if wanted not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {wanted!r}")
    return wanted in split.split("+")
