"""Time the local GGUF backend: model load, time to first token, decode speed, kept sentences.

    python -m eval.bench_llm [--index-dir D] [--questions 5] [--max-tokens 64] [--threads 2]

Builds the seed index in a temporary folder when none is given. Each streamed delta of
llama.cpp is one token, so decode speed is (deltas - 1) / (last - first delta time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="GGUF file (default: the packaged Gemma 3 270M)")
    args = parser.parse_args(argv)

    from qa import Answer, Assistant, index_documents, llm_generator

    index_dir = args.index_dir
    if not index_dir:
        index_dir = tempfile.mkdtemp(prefix="qa-bench-")
        index_documents(REPO / "seeds", index_dir, show_progress=False)
    gen = llm_generator(
        "llamacpp",
        model=args.model,
        max_tokens=args.max_tokens,
        context_window=args.n_ctx,
        n_threads=args.threads,
    )
    bot = Assistant(index_dir, top_k=args.top_k, generator=gen)
    bot.embedder.warm_up()
    started = time.perf_counter()
    gen.warm_up()
    load = time.perf_counter() - started
    bot.warm_up()

    gold = [json.loads(line) for line in (REPO / "eval" / "gold" / "seed.jsonl").read_text().splitlines()]
    questions = [g["question"] for g in gold if g.get("answers")][: args.questions]
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        stamps: list[float] = []
        final: Answer | None = None
        for item in bot.stream(q):
            if isinstance(item, str):
                stamps.append(time.perf_counter())
            else:
                final = item
        assert final is not None
        rows.append(
            {
                "ttft": stamps[0] - t0 if stamps else float("nan"),
                "tokens": len(stamps),
                "decode_tps": (len(stamps) - 1) / (stamps[-1] - stamps[0])
                if len(stamps) > 2
                else float("nan"),
                "total": time.perf_counter() - t0,
                "kept": sum(s.kept for s in final.sentences if not s.reason.startswith("extractive")),
                "dropped": sum(not s.kept for s in final.sentences),
                "generator": final.generator,
            }
        )
        print(
            f"{rows[-1]['ttft']:.2f}s ttft, {rows[-1]['decode_tps']:.1f} tok/s, {final.generator}: {q[:60]}"
        )

    def med(key: str) -> float:
        values = [r[key] for r in rows if r[key] == r[key]]
        return statistics.median(values) if values else float("nan")

    print(
        f"model load {load:.2f}s; median time to first token {med('ttft'):.2f}s; "
        f"median decode {med('decode_tps'):.1f} tok/s; median answer {med('total'):.2f}s; "
        f"LLM sentences kept {sum(r['kept'] for r in rows)}, dropped {sum(r['dropped'] for r in rows)}; "
        f"fell back to extractive {sum(r['generator'] == 'extractive' for r in rows)}/{len(rows)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
