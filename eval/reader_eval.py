"""The reader alone, as published readers are scored: each squad2 question with its own paragraph.

    python -m eval.reader_eval                # report articles: EM, F1, HasAns, NoAns, latency
    python -m eval.reader_eval --split fit    # the fit articles (where the threshold is fitted)
    python -m eval.reader_eval --fit          # refit the no-answer threshold on the fit articles

``--fit`` rewrites the threshold in ``reader.json``; it never reads the report articles.
Beside the thresholded metrics it prints how well the decision *ranks* (no-answer AUC) and how
good the spans are when every question is answered, overall and per article: a threshold can
only trade one kind of error for the other, so these two say whether a miss is the spans, the
ranking, or where the threshold sits.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from qa._reader import READER_DIR, PassageReading, Reader, read_manifest, write_manifest

from ._datasets import DEFAULT_DATA
from ._percentiles import observed_percentile
from ._reader_data import SQUAD2_FILE, read_squad
from ._splits import SPLITS, squad2_split
from ._squad import exact_match, f1


def _questions(data_dir: Path, split: str) -> list[tuple[str, str, list[str]]]:
    """(question, paragraph, gold answers) for the squad2 articles of ``split``; no answers = unanswerable."""
    return [item for item, _ in _questions_by_article(data_dir, split)]


def _questions_by_article(data_dir: Path, split: str) -> list[tuple[tuple[str, str, list[str]], str]]:
    out = []
    for art in read_squad(data_dir / SQUAD2_FILE):
        if squad2_split(art["title"]) != split:
            continue
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                answers = [] if qa.get("is_impossible") else [a["text"] for a in qa["answers"]]
                out.append(((qa["question"].strip(), para["context"], answers), art["title"]))
    return out


def _readings(reader: Reader, items: list, progress: bool) -> tuple[list[PassageReading], list[float]]:
    """The reader's logits for each question with its own paragraph, and seconds per passage."""
    from tqdm import tqdm

    reader.warm_up()
    readings, seconds = [], []
    for question, passage, _ in tqdm(items, desc="reader", unit="q", disable=not progress, file=sys.stderr):
        t0 = time.perf_counter()
        readings.append(reader.read_passages(question, [passage])[0])
        readings[-1].best()
        seconds.append(time.perf_counter() - t0)
    return readings, seconds


def _predictions(readings: list[PassageReading], margin_weight: float) -> list[tuple[float, str]]:
    """(decision before the threshold, best span) per question, for one weight of the margin."""
    out = []
    for reading in readings:
        r = replace(reading, threshold=0.0, margin_weight=margin_weight).best()
        out.append((r.score, r.text))
    return out


def score(items: list, preds: list[tuple[float, str]], threshold: float) -> dict[str, float | int]:
    """SQuAD 2.0 metrics when spans scoring above ``threshold`` are answers and the rest declines."""
    em, f, has_em, has_f1, noans = [], [], [], [], []
    for (_, _, answers), (raw, span) in zip(items, preds, strict=True):
        prediction = span if raw > threshold else ""
        e, g = exact_match(prediction, answers), f1(prediction, answers)
        em.append(e)
        f.append(g)
        if answers:
            has_em.append(e)
            has_f1.append(g)
        else:
            noans.append(e)
    mean = statistics.fmean
    return {
        "exact_match": round(mean(em), 4),
        "f1": round(mean(f), 4),
        "has_ans_exact_match": round(mean(has_em), 4) if has_em else 0.0,
        "has_ans_f1": round(mean(has_f1), 4) if has_f1 else 0.0,
        "no_ans_accuracy": round(mean(noans), 4) if noans else 0.0,
        "n": len(items),
        "n_has_ans": len(has_em),
        "n_no_ans": len(noans),
    }


def ranking(items: list, preds: list[tuple[float, str]]) -> dict[str, float | int | None]:
    """Threshold-free quality: the ROC AUC of the decision for "answerable" against "no answer"
    (0.5 is chance; None without both kinds), and HasAns F1 when every question is answered with
    its best span."""
    from sklearn.metrics import roc_auc_score

    answerable = [bool(answers) for _, _, answers in items]
    spans = [f1(span, answers) for (_, _, answers), (_, span) in zip(items, preds, strict=True) if answers]
    both = 0 < sum(answerable) < len(answerable)
    return {
        "no_answer_auc": round(float(roc_auc_score(answerable, [raw for raw, _ in preds])), 4) if both else None,
        "has_ans_f1_answering_all": round(statistics.fmean(spans), 4) if spans else 0.0,
        "n": len(items),
    }


def best_threshold(items: list, preds: list[tuple[float, str]]) -> float:
    """The threshold that maximises overall F1 (the official script's ``find_best_thresh``)."""
    gain = []  # F1 change when a question's span is answered instead of declined
    base = 0.0
    for (_, _, answers), (raw, span) in zip(items, preds, strict=True):
        declined = f1("", answers)
        base += declined
        gain.append((raw, f1(span, answers) - declined))
    gain.sort(key=lambda g: -g[0])
    best_total, best_t, total = base, gain[0][0] + 1.0 if gain else 0.0, base
    for i, (raw, g) in enumerate(gain):
        total += g
        nxt = gain[i + 1][0] if i + 1 < len(gain) else raw - 1.0
        if total > best_total and nxt < raw:
            best_total, best_t = total, (raw + nxt) / 2
    return round(best_t, 4)


# how much the span's margin counts beside the answerability head; never 0, because within one
# window the margin is what ranks one sentence's span against another's
MARGIN_WEIGHTS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)


def fit_threshold(data_dir: Path, folder: Path = READER_DIR, progress: bool = True) -> dict:
    """Fit the margin's weight and the no-answer threshold on the squad2 fit articles (F1-optimal)
    and write them to ``reader.json``. Weights without an answerability head keep the margin alone."""
    items = _questions(data_dir, "fit")
    reader = Reader(folder)
    readings, _ = _readings(reader, items, progress)
    grid = MARGIN_WEIGHTS if "head" in read_manifest(folder) else (1.0,)
    tried = []
    for weight in grid:
        preds = _predictions(readings, weight)
        threshold = best_threshold(items, preds)
        tried.append(
            {"margin_weight": weight, "threshold": threshold, "metrics": score(items, preds, threshold)}
        )
    best = max(tried, key=lambda t: t["metrics"]["f1"])
    write_manifest(
        folder,
        null_threshold=best["threshold"],
        margin_weight=best["margin_weight"],
        threshold_fitted_on="squad2 fit articles (F1-optimal)",
    )
    return best | {"split": "fit", "grid": list(grid)}


def latency_256(reader: Reader, items: list, runs: int = 200) -> dict[str, float]:
    """Milliseconds for one question + a full 256-token window (the reader's largest input)."""
    rng = random.Random(0)
    reader.warm_up()
    feat = reader.featurizer
    long_text = " ".join(p for _, p, _ in items[:40])
    times = []
    for _ in range(runs):
        question = items[rng.randrange(len(items))][0]
        w = feat.windows(question, long_text)[0]
        assert len(w.ids) == feat.max_tokens
        t0 = time.perf_counter()
        reader.logits([w])
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(observed_percentile(times, 0.95, "higher"), 2),
    }


def evaluate(data_dir: Path, folder: Path = READER_DIR, split: str = "report", progress: bool = True) -> dict:
    tagged = _questions_by_article(data_dir, split)
    items = [item for item, _ in tagged]
    reader = Reader(folder)
    readings, seconds = _readings(reader, items, progress)
    preds = _predictions(readings, reader.margin_weight)
    metrics = score(items, preds, reader.threshold)
    metrics |= {k: v for k, v in ranking(items, preds).items() if k != "n"}
    by_article = {}
    for title in dict.fromkeys(t for _, t in tagged):
        pick = [k for k, (_, t) in enumerate(tagged) if t == title]
        by_article[title] = ranking([items[k] for k in pick], [preds[k] for k in pick])
    ms = sorted(s * 1000 for s in seconds)
    metrics["latency_per_passage_p50_ms"] = round(statistics.median(ms), 2)
    metrics["latency_per_passage_p95_ms"] = round(observed_percentile(ms, 0.95, "higher"), 2)
    lat = latency_256(reader, items)
    metrics["latency_256_tokens_p50_ms"] = lat["p50_ms"]
    metrics["latency_256_tokens_p95_ms"] = lat["p95_ms"]
    metrics["threads"] = reader.threads
    one = Reader(folder, threads=1)
    metrics["latency_256_tokens_1_thread_p50_ms"] = latency_256(one, items)["p50_ms"]
    return {
        "split": split,
        "threshold": reader.threshold,
        "version": reader.version,
        "metrics": metrics,
        "by_article": by_article,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.reader_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS[1:], default="report")
    parser.add_argument(
        "--fit", action="store_true", help="refit the no-answer threshold on the fit articles"
    )
    parser.add_argument("--reader", type=Path, default=READER_DIR, help="the reader folder")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not (args.data / "squad2").is_dir():
        print(f"error: {args.data}: no squad2/ folder (pass --data)", file=sys.stderr)
        return 2
    if args.fit:
        out = fit_threshold(args.data, args.reader)
    else:
        out = evaluate(args.data, args.reader, args.split)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"reader {read_manifest(args.reader)['version']}, squad2 {out['split']} articles, "
            f"threshold {out['threshold']}"
        )
        print("| metric | value |\n|---|---|")
        for k, v in out["metrics"].items():
            print(f"| {k} | {v} |")
        if out.get("by_article"):
            print("\n| article | questions | no-answer AUC | HasAns F1 answering all |\n|---|---|---|---|")
            for title, r in out["by_article"].items():
                print(f"| {title} | {r['n']} | {r['no_answer_auc']} | {r['has_ans_f1_answering_all']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
