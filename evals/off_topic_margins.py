"""Choose the off-topic margins (app/scoring/topic.py) on the dev splits only.

    python -m evals.off_topic_margins

For every dev answer of both labelled sets: how much better the best other bank question fits it
than the one asked, and whether it states one of that question's talking points. Then, for a grid
of (margin, clear margin), the flag's precision and recall against the labels. The test splits
are never read. Re-run when the embedding model or the topic texts change.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from app.config import PROJECT_ROOT, Settings
from app.corpus.loader import load_bank
from app.engines import features as fx
from app.scoring import topic
from app.services import prepare_offline_environment
from evals.labelled import load_answers, load_blind

MARGINS = (0.14, 0.16, 0.18, 0.2, 0.22, 0.24)
CLEAR = (0.24, 0.26, 0.28, 0.3, 0.32, 0.35)


@dataclass(frozen=True)
class Fit:
    off_topic: bool  # the label
    gap: float  # best other question's fit minus the asked question's
    states_a_point: bool  # of that other question


def fits() -> list[Fit]:
    settings = Settings(data_dir=PROJECT_ROOT / ".coach-data")
    prepare_offline_environment(settings)
    bank = load_bank(settings.corpus_dir)
    judge = topic._point_judge()
    rows = []
    for answer in load_answers(split="dev") + load_blind(split="dev"):
        question = bank.get(answer.question_id)
        match = topic.best_other_question(answer.answer, question, bank)
        if match is None:
            rows.append(Fit(answer.off_topic, -1.0, False))
            continue
        other = bank.get(match.question_id)
        states = bool(judge.covered(fx.extract(other, answer.answer)))
        rows.append(Fit(answer.off_topic, match.similarity - match.own_similarity, states))
    return rows


def flag_quality(rows: list[Fit], margin: float, clear: float) -> tuple[float, float, int]:
    flagged = [r for r in rows if r.gap >= margin and (r.gap >= max(margin, clear) or r.states_a_point)]
    true = sum(r.off_topic for r in flagged)
    labelled = sum(r.off_topic for r in rows)
    precision = true / len(flagged) if flagged else float("nan")
    return precision, true / labelled if labelled else float("nan"), len(flagged)


def main() -> int:
    rows = fits()
    print(f"{len(rows)} dev answers, {sum(r.off_topic for r in rows)} labelled off topic")
    print("margin clear  precision recall flagged")
    for margin in MARGINS:
        for clear in CLEAR:
            if clear < margin:
                continue
            p, r, n = flag_quality(rows, margin, clear)
            mark = " <- now" if (margin, clear) == (topic.OFF_TOPIC_MARGIN, topic.CLEAR_MARGIN) else ""
            print(f"{margin:6.2f} {clear:5.2f}  {p:9.3f} {r:6.3f} {n:7d}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
