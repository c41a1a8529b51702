"""The design-stage map credits a stage only when the answer states something about it."""

from __future__ import annotations

from app.config import PROJECT_ROOT
from app.scoring.stages import load_interviewer, stage_map

STAGES = list(load_interviewer(PROJECT_ROOT / "corpus").stages["ml_system_design"])  # type: ignore[index]


def statuses(answer: str) -> dict[str, str]:
    return {s.id: s.status for s in stage_map(STAGES, answer, "test")}


def test_a_list_of_topic_words_covers_no_stage() -> None:
    dump = (
        "For fraud you'd want features, a model like XGBoost, some monitoring, thresholds, that kind of "
        "thing. Also class imbalance and drift, plus A/B testing and latency."
    )
    got = statuses(dump)
    assert "covered" not in got.values(), got
    assert "touched" in got.values()


def test_stated_stages_are_covered_and_quote_the_stating_sentence() -> None:
    answer = (
        "Features, model, monitoring. I would train gradient-boosted trees on velocity features, since "
        "fraud is rare and the data is tabular, and compare them with a logistic regression baseline."
    )
    stages = {s.id: s for s in stage_map(STAGES, answer, "test")}
    model = stages["model"]
    assert model.status == "covered", model
    assert model.quote.startswith("I would train gradient-boosted trees")


def test_rubric_cue_words_cover_no_stage_however_often_repeated() -> None:
    """Issue 13's cue blob: "the business value is revenue and retention" names a success metric's
    words without saying which metric, for whom, or how it is measured: touched, not covered."""
    blob = " ".join(
        [
            "At a high level, the business value is revenue and retention. Trade-off: latency versus accuracy because cost."
        ]
        * 12
    )
    got = statuses(blob)
    assert "covered" not in got.values(), got
    assert got["problem_metric"] == "touched", got


def test_a_stated_success_metric_still_covers_the_first_stage() -> None:
    answer = (
        "The goal is to increase weekly retention by predicting which customers will churn, measured "
        "as the churn rate of contacted customers against a holdout."
    )
    assert statuses(answer)["problem_metric"] == "covered"
