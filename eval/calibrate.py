"""Fit the extractive generator's weights and abstention threshold on gold data.

    python -m eval.calibrate [--seed-gold eval/gold/seed.jsonl] [--clapnq DIR] [--trials 4000]

Prints the fitted settings and two-fold cross-validated scores, so the numbers we
report are not just the fit to the same questions.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import Assistant, ExtractiveSettings, IndexMismatch, index_documents
from qa._extractive import FEATURES, extract_features
from qa._followup import condense

from ._datasets import load_clapnq, load_native
from ._normalize import contains, normalize


def _index(docs, index_dir) -> None:
    """Our private calibration index: rebuilt when an older version wrote it."""
    try:
        index_documents(docs, index_dir)
    except IndexMismatch:
        index_documents(docs, index_dir, rebuild=True)


@dataclass
class Case:
    dataset: str
    answerable: bool
    feats: np.ndarray
    correct: np.ndarray  # bool per candidate
    qtype: str = "other"


def _collect(bot: Assistant, items, dataset: str, top_k: int) -> list[Case]:
    cases = []
    for item in items:
        history: list[str] = []
        for turn in item.turns:
            standalone = condense(turn.question, history)
            qv = bot.embedder.embed_query(standalone)
            hits = bot.retrieve(standalone, top_k=top_k, query_vec=qv)
            scored = extract_features(bot.index, standalone, turn.question, qv, hits)
            if turn.answers:
                correct = [
                    (all if turn.answers_mode == "all" else any)(contains(c.text, a) for a in turn.answers)
                    for c in scored.candidates
                ]
                if turn.answers_mode == "all" and not any(correct):
                    correct = [any(contains(c.text, a) for a in turn.answers) for c in scored.candidates]
            else:
                ev = [normalize(e) for e in turn.evidence]
                correct = [
                    any(normalize(c.text) in e or e in normalize(c.text) for e in ev if e)
                    for c in scored.candidates
                ]
            cases.append(
                Case(dataset, turn.answerable, scored.features, np.asarray(correct, bool), scored.qtype)
            )
            history.append(turn.question)
    return cases


def evaluate(cases: list[Case], settings: ExtractiveSettings) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for ds in sorted({c.dataset for c in cases}):
        sub = [c for c in cases if c.dataset == ds]
        ans = [c for c in sub if c.answerable]
        una = [c for c in sub if not c.answerable]
        right = false_abs = true_abs = 0
        for c in sub:
            if len(c.feats) == 0:
                best, top = -1e9, -1
            else:
                s = settings.score(c.feats)
                top = int(np.argmax(s))
                best = float(s[top])
            abstain = best < settings.threshold or (top >= 0 and settings.lacks_type(c.qtype, c.feats[top]))
            if c.answerable:
                false_abs += abstain
                right += (not abstain) and top >= 0 and bool(c.correct[top])
            else:
                true_abs += abstain
        out[ds] = {
            "accuracy": right / max(len(ans), 1),
            "abstain_recall": true_abs / max(len(una), 1),
            "false_abstain_rate": false_abs / max(len(ans), 1),
        }
    return out


def objective(metrics: dict[str, dict[str, float]]) -> float:
    total = 0.0
    for m in metrics.values():
        total += m["accuracy"] + 0.8 * m["abstain_recall"] - 2.0 * max(0.0, m["false_abstain_rate"] - 0.08)
    return total


def fit(cases: list[Case], trials: int, rng: random.Random) -> ExtractiveSettings:
    best_settings, best_obj = ExtractiveSettings(), -1e9
    for t in range(trials):
        w = {f: rng.choice([0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0]) for f in FEATURES}
        if t == 0:
            w = dict(ExtractiveSettings().weights)
        settings = ExtractiveSettings(weights=w)
        # the best threshold for these weights: scan the top scores actually observed
        tops = sorted(float(np.max(settings.score(c.feats))) for c in cases if len(c.feats))
        for th in tops[:: max(1, len(tops) // 60)]:
            settings.threshold = th
            obj = objective(evaluate(cases, settings))
            if obj > best_obj:
                best_obj = obj
                best_settings = ExtractiveSettings(weights=dict(w), threshold=th)
    return best_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__)
    parser.add_argument("--seed-gold", default="eval/gold/seed.jsonl")
    parser.add_argument("--seed-docs", default="seeds")
    parser.add_argument("--clapnq", default="../shared/data/clapnq")
    parser.add_argument("--work", default=".qa/calibrate")
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(args.work)
    cases: list[Case] = []

    _index(args.seed_docs, work / "seed-index")
    seed_bot = Assistant(work / "seed-index").warm_up()
    cases += _collect(seed_bot, load_native(Path(args.seed_gold)), "seed", args.top_k)

    clap_files = sorted(Path(args.clapnq).glob("*.jsonl"))
    if clap_files:
        items = load_clapnq(clap_files, work / "clapnq-docs")
        _index(work / "clapnq-docs", work / "clapnq-index")
        clap_bot = Assistant(work / "clapnq-index", embedder=seed_bot.embedder).warm_up()
        cases += _collect(clap_bot, items, "clapnq", args.top_k)

    oracle = {
        ds: float(np.mean([c.correct.any() for c in cases if c.dataset == ds and c.answerable]))
        for ds in {c.dataset for c in cases}
    }
    print("candidate recall (a correct sentence among candidates):", oracle, file=sys.stderr)
    print("current defaults:", json.dumps(evaluate(cases, ExtractiveSettings())), file=sys.stderr)
    rng = random.Random(13)
    # two-fold cross-validation for an honest estimate
    idx = list(range(len(cases)))
    rng.shuffle(idx)
    halves = [set(idx[: len(idx) // 2]), set(idx[len(idx) // 2 :])]
    for k, held in enumerate(halves):
        train = [c for i, c in enumerate(cases) if i not in held]
        test = [c for i, c in enumerate(cases) if i in held]
        s = fit(train, args.trials // 2, rng)
        print(f"fold {k}: held-out", json.dumps(evaluate(test, s)), file=sys.stderr)
    final = fit(cases, args.trials, rng)
    print("fit on all:", json.dumps(evaluate(cases, final)), file=sys.stderr)
    print(json.dumps({"weights": final.weights, "threshold": round(final.threshold, 4)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
