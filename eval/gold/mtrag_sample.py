"""Cut ``mtrag-sample.jsonl`` from the shared MTRAG-UN file, by a fixed rule.

Rule: only conversations outside the report split (``conversation_id`` not starting with
c, d, e or f); for each answerability class (ANSWERABLE, PARTIAL, UNANSWERABLE,
UNDERSPECIFIED), 6 tasks, taken in turn from the collections govt, clapnq, ibmcloud, fiqa,
each time the earliest in file order of that class and collection not yet taken (a collection
with none left is skipped). The 24 lines are written verbatim, in the shared file's order.

    python eval/gold/mtrag_sample.py [SOURCE.jsonl.gz] [OUT.jsonl]

prints the sha256 of the uncompressed source and of the sample (eval/gold/MTRAG-NOTICE).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1].parent / "shared" / "data" / "mtragun" / "mtragun_reference.jsonl.gz"
CLASSES = ("ANSWERABLE", "PARTIAL", "UNANSWERABLE", "UNDERSPECIFIED")
COLLECTIONS = ("govt", "clapnq", "ibmcloud", "fiqa")
PER_CLASS = 6


def pick(records: list[dict]) -> list[int]:
    """The line indexes (0-based, in file order) the rule selects."""
    chosen: list[int] = []
    for cls in CLASSES:
        pools = {
            c: [
                i
                for i, r in enumerate(records)
                if r["answerability"][0] == cls
                and r["Collection"] == c
                and r["conversation_id"][:1].lower() not in "cdef"
            ]
            for c in COLLECTIONS
        }
        taken: list[int] = []
        turn = 0
        while len(taken) < PER_CLASS and any(pools.values()):
            pool = pools[COLLECTIONS[turn % len(COLLECTIONS)]]
            turn += 1
            if pool:
                taken.append(pool.pop(0))
        chosen.extend(taken)
    return sorted(chosen)


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else SOURCE
    out = Path(argv[1]) if len(argv) > 1 else HERE / "mtrag-sample.jsonl"
    raw = gzip.decompress(source.read_bytes())
    lines = [line for line in raw.decode("utf-8").splitlines() if line.strip()]
    chosen = pick([json.loads(line) for line in lines])
    text = "".join(lines[i] + "\n" for i in chosen)
    out.write_text(text, encoding="utf-8")
    print(f"source sha256 (uncompressed): {hashlib.sha256(raw).hexdigest()} ({len(raw):,} bytes)")
    print(f"sample: {len(chosen)} tasks, lines {', '.join(str(i + 1) for i in chosen)} of the source")
    print(f"sample sha256: {hashlib.sha256(text.encode('utf-8')).hexdigest()} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
