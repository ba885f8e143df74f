"""Split an LLM's draft into claims: its sentences, each with the ``[n]`` markers it carries.

Apart from the scoring (:mod:`qa._support`) and the verdicts (:mod:`qa._verify`) because
reading markers ("[1, 3]", "[2-4]", "【1】", a marker opening the next sentence) is a job of its
own, and the one place a sentence that says what the documents lack is told from a claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index import sentence_spans

from ._abstain import is_abstention

_MARKER = re.compile(
    r"\s*[\[【]\s*(?:sources?\s*)?(\d{1,3}(?:\s*(?:[,;]|and|-|–)\s*\d{1,3})*)\s*[\]】]", re.I
)
_ONLY_MARKERS = re.compile(r"^(?:\s*[\[【][^\]】]*[\]】])+\s*[.!?]?\s*$")


@dataclass
class Claim:
    """One sentence of a draft, its ``[n]`` markers removed and kept apart."""

    text: str
    cited: list[int] = field(default_factory=list)  # source numbers as written, 1-based
    abstains: bool = False  # says the documents do not cover something


def _numbers_in(marker: str) -> list[int]:
    out: list[int] = []
    parts = re.split(r"\s*(?:[,;]|and)\s*", marker)
    for part in parts:
        bounds = re.split(r"\s*[-–]\s*", part.strip())
        if len(bounds) == 2 and all(b.isdigit() for b in bounds):
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, min(hi, lo + 20) + 1))
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"^(?:answer|a)\s*:\s*", "", text, flags=re.I)


def split_claims(draft: str) -> list[Claim]:
    """Sentences of ``draft`` with their markers; a marker opening a sentence belongs to the one before.

    >>> [(c.text, c.cited) for c in split_claims("Oil rose [1]. [2] Gas fell [3, 4].")]
    [('Oil rose.', [1, 2]), ('Gas fell.', [3, 4])]
    """
    claims: list[Claim] = []
    for start, end in sentence_spans(draft):
        piece = draft[start:end]
        lead = re.match(r"^(?:\s*[\[【][^\]】]*[\]】])+", piece)
        if lead and claims:
            claims[-1].cited.extend(
                n for m in _MARKER.finditer(lead.group()) for n in _numbers_in(m.group(1))
            )
            piece = piece[lead.end() :]
        if not piece.strip() or _ONLY_MARKERS.match(piece):
            continue
        cited = [n for m in _MARKER.finditer(piece) for n in _numbers_in(m.group(1))]
        text = _clean(_MARKER.sub("", piece))
        if not text or not re.search(r"\w", text):
            if claims:
                claims[-1].cited.extend(cited)
            continue
        claims.append(Claim(text, cited, is_abstention(text)))
    for claim in claims:
        claim.cited = list(dict.fromkeys(claim.cited))
    return claims
