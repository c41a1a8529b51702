"""Do two versions of the offline scorer give the same scorecards? (speed work must not move a score)

    python -m evals.same_scores --write OUT.jsonl          # score every labelled answer, save
    python -m evals.same_scores --compare BASE.jsonl       # score again, count the differences

Every answer of evals/data/blind.v1.jsonl and evals/data/answers.v1.jsonl (both splits: nothing is
fitted or chosen here, the outputs are only compared) is scored by the offline scorer; what a
scorecard shows is kept: per dimension its score, evidence and tip, the covered points with their
quotes, strengths, overall, non-answer, off-topic, flags, the follow-up and the stage map. The raw
(unbanded) dimension values are kept too, so a comparison also reports how far they moved
(float noise from the embedding model, e.g. after a change of onnxruntime's session options).
To score main's code, put a checkout of it first on PYTHONPATH when writing the base file.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.config import Settings
from app.services import Services, prepare_offline_environment
from evals.labelled import load_answers, load_blind

RAW_TOLERANCE = 1e-4  # raw dimension values further apart than this are reported


def signature(card: Any) -> dict[str, Any]:
    """What the candidate sees of a scorecard (numbers that are only shown rounded, rounded)."""
    return {
        "overall": card.overall,
        "dimensions": {
            d.id: {"score": d.score, "evidence": d.evidence, "tip": d.tip} for d in card.dimensions
        },
        "covered": {c.id: c.evidence for c in card.covered},
        "strengths": [(s.text, s.evidence) for s in card.strengths],
        "non_answer": card.non_answer,
        "off_topic": card.off_topic.question_id if card.off_topic else None,
        "flags": card.flags,
        "follow_up": card.follow_up,
        "stages": [(s.id, s.status, s.quote) for s in card.stages],
        "suggested_opening": card.suggested_opening,
    }


def raw_values(services: Services, question_id: str, answer: str) -> dict[str, float]:
    """The engine's unbanded dimension values (from its cached features of this answer)."""
    from app.engines import features as fx
    from app.engines.offline import OfflineEngine

    feats = fx.extract(services.bank.get(question_id), answer)
    return {k: round(v, 6) for k, v in OfflineEngine().raw_scores(feats).items()}


def score_all(services: Services) -> list[dict[str, Any]]:
    scorer = services.scorer("offline")
    rows = []
    for answer in [*load_blind(), *load_answers()]:
        card = scorer.score(answer.answer, question_id=answer.question_id)
        rows.append(
            {
                "id": f"{answer.set_name}:{answer.id}",
                "card": signature(card),
                "raw": raw_values(services, answer.question_id, answer.answer),
            }
        )
    return rows


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (a tuple scored now equals the list it was saved as)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _differs(row: dict[str, Any], old: dict[str, Any]) -> bool:
    return not _same(row["card"], old["card"])


def differences(base: list[dict[str, Any]], now: list[dict[str, Any]]) -> dict[str, Any]:
    """Per field of the scorecard, how many answers differ; and the largest raw-value move."""
    by_id = {r["id"]: r for r in base}
    fields: dict[str, int] = {}
    examples: list[str] = []
    raw_max = 0.0
    missing = 0
    for row in now:
        old = by_id.get(row["id"])
        if old is None:
            missing += 1
            continue
        for key, value in row["card"].items():
            if not _same(value, old["card"].get(key)):
                fields[key] = fields.get(key, 0) + 1
                if len(examples) < 10:
                    examples.append(f"{row['id']} {key}: {old['card'].get(key)!r} -> {value!r}"[:400])
        for dim, value in row["raw"].items():
            raw_max = max(raw_max, abs(value - old["raw"].get(dim, float("nan"))))
    return {
        "answers": len(now),
        "not_in_base": missing,
        "answers_differing": len({r["id"] for r in now if r["id"] in by_id and _differs(r, by_id[r["id"]])}),
        "differences_by_field": fields,
        "raw_max_abs_diff": raw_max,
        "examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("--write", "--compare"):
        print(__doc__, file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="coach-same-"))
    try:
        settings = Settings(data_dir=workdir / "data")
        prepare_offline_environment(settings)
        started = time.perf_counter()
        rows = score_all(Services(settings))
        print(f"scored {len(rows)} answers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    path = Path(args[1])
    if args[0] == "--write":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return 0
    base = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = differences(base, rows)
    print(json.dumps(report, indent=1))
    same = report["answers_differing"] == 0 and report["not_in_base"] == 0
    return 0 if same and report["raw_max_abs_diff"] <= RAW_TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
