"""The reader's answerability head: one logistic layer on the question tokens' final states.

The span head's no-answer score ([CLS] start + end) learns mostly from easy negatives (another
paragraph, the answer sentence removed) and barely separates SQuAD 2.0's near misses from real
answers. After cross-attention to the passage, the question tokens' own final states hold more
of that: a logistic layer on their mean, trained on the frozen encoder, lifted the no-answer
AUC on the squad2 fit articles from 0.638 (margin alone) to 0.72 in the probe that chose it
(eval/RESULTS.md, "The reader"). It is trained on train parts only, like the encoder, and is
exported in the same ONNX graph as a third output. Only ``--config near-miss`` trains one; the
shipped reader (``--config full``) has none yet (eval/RESULTS.md, "A second reader").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HEAD_FILE = "answerability.pt"


@dataclass(frozen=True)
class HeadConfig:
    """What the head learns from, and how strongly its weights are held back."""

    others: int = 4000  # examples of the encoder's own mix beside every squad2 question
    l2: float = 0.01  # on the standardised features; the probe's C=0.01 in sklearn's terms
    steps: int = 200  # L-BFGS iterations (the loss is convex)


def question_mean(hidden: Any, token_type_ids: Any, attention_mask: Any) -> Any:
    """The mean final state of the first segment ([CLS] question [SEP]), per window."""
    mask = ((token_type_ids == 0) & (attention_mask == 1)).unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def graph(model: Any, head: Any) -> Any:
    """The module that is exported: start logits, end logits and (with a head) the answerability logit."""
    import torch

    class ReaderGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.head = head

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            seq = self.model.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.model.qa_outputs(seq).unbind(-1)
            if self.head is None:
                return start, end
            answerable = self.head(question_mean(seq, token_type_ids, attention_mask)).squeeze(-1)
            return start, end, answerable

    return ReaderGraph().eval()


def head_sample(items: Sequence[Any], sources: Sequence[str], config: HeadConfig, seed: int) -> list[int]:
    """Every squad2 example (the human-written near misses) plus ``config.others`` of the rest."""
    squad2 = [i for i, s in enumerate(sources) if s == "squad2"]
    rest = [i for i, s in enumerate(sources) if s != "squad2"]
    rng = random.Random(seed)
    return sorted(squad2 + rng.sample(rest, min(config.others, len(rest))))


def features(model: Any, windows: Sequence[Any], pad_id: int, batch_size: int = 32) -> Any:
    """The question-mean features of ``windows`` from the frozen encoder (float32, no autocast)."""
    import torch

    from qa._reader_features import batch_arrays

    order = sorted(range(len(windows)), key=lambda k: len(windows[k].ids))
    out = torch.zeros((len(windows), model.config.hidden_size))
    model.eval()
    with torch.no_grad():
        for b in range(0, len(order), batch_size):
            part = order[b : b + batch_size]
            arrays = {
                k: torch.from_numpy(v) for k, v in batch_arrays([windows[k] for k in part], pad_id).items()
            }
            seq = model.bert(**arrays).last_hidden_state
            out[part] = question_mean(seq, arrays["token_type_ids"], arrays["attention_mask"])
    return out


def fit_head(x: Any, y: Any, config: HeadConfig) -> tuple[Any, dict[str, float]]:
    """A logistic layer on standardised features, folded back to raw ones; and its training loss."""
    import torch

    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    z = (x - mean) / std
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=config.steps, line_search_fn="strong_wolfe")
    target = y.float()

    def closure() -> Any:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, target)
        loss = loss + config.l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        logits = z @ w + b
        loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, target))
        accuracy = float(((logits > 0) == (target > 0.5)).float().mean())
        layer = torch.nn.Linear(x.shape[1], 1)
        layer.weight.copy_((w / std).unsqueeze(0))
        layer.bias.copy_(b - (w * mean / std).sum())
    return layer, {"train_loss": round(loss, 4), "train_accuracy": round(accuracy, 4)}
