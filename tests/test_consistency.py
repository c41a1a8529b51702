"""Self-consistency (issue 17 item 5): several judgements of one answer, combined into a median
with its spread, and dimensions whose samples disagree by 2 or more marked low confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import FakeOpenAI
from test_llm_engine import ANSWER, QID, SECRET

from app.cli import main
from app.config import Settings
from app.engines.consistency import combine
from app.engines.llm import LLMEngine
from app.engines.types import Assessment, DimensionScore
from app.scoring.scorer import Scorer
from app.services import Services

DIMS = ("step_back", "business_value", "clarity", "technical_coverage", "tradeoffs")
QUOTE = "At a high level, I'd rank posts with a multi-task model of likes, comments and hides."


def judgement(scores: dict[str, int], points: list[str], tip: str = "tip") -> Assessment:
    return Assessment(
        dimensions=[
            DimensionScore(id=d, score=s, evidence=[QUOTE], tip=f"{tip} {s}") for d, s in scores.items()
        ],
        covered_points=points,
        covered_spans={p: QUOTE for p in points},
    )


def test_combine_takes_the_median_keeps_every_sample_and_votes_on_points() -> None:
    samples = [
        judgement({"step_back": 2, "clarity": 4}, ["a", "b"]),
        judgement({"step_back": 5, "clarity": 4}, ["a"]),
        judgement({"step_back": 3, "clarity": 3}, ["a", "c"]),
    ]
    combined = combine(samples)
    step_back = next(d for d in combined.dimensions if d.id == "step_back")
    assert step_back.score == 3 and step_back.samples == [2, 5, 3] and step_back.tip == "tip 3"
    assert next(d for d in combined.dimensions if d.id == "clarity").score == 4
    assert combined.covered_points == ["a"]  # b and c: one vote of three each


def test_an_even_number_of_samples_never_rounds_up() -> None:
    combined = combine([judgement({"clarity": 2}, []), judgement({"clarity": 5}, [])])
    assert combined.dimensions[0].score == 2


def reply(scores: dict[str, int]) -> str:
    return json.dumps(
        {
            "dimensions": [{"id": d, "score": s, "evidence": [QUOTE], "tip": "t"} for d, s in scores.items()],
            "covered_points": [],
            "strengths": [],
            "suggested_opening": "",
        }
    )


def scripted(*score_sets: dict[str, int]) -> FakeOpenAI:
    replies = iter([reply(s) for s in score_sets])
    return FakeOpenAI(default=lambda body: next(replies))


def settings_for(server: FakeOpenAI, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        openai_api_key=SECRET,
        openai_base_url=server.base_url,
        model="gpt-4o-mini",
        llm_timeout_s=10,
        llm_max_retries=0,
    )


def test_three_samples_give_the_median_the_spread_and_low_confidence(
    corpus_services: Services, tmp_path: Path
) -> None:
    steady = dict.fromkeys(DIMS, 4)
    with scripted(
        {**steady, "tradeoffs": 1}, {**steady, "tradeoffs": 4}, {**steady, "tradeoffs": 3}
    ) as server:
        engine = LLMEngine(settings_for(server, tmp_path))
        scorer = Scorer(engine, corpus_services.bank, corpus_services.rubric)
        card = scorer.score(ANSWER, question_id=QID, samples=3)
        sent = [r.body for r in server.requests]
    assert len(sent) == 3 and all(b.get("temperature") == 0.8 for b in sent)
    tradeoffs = card.dimension("tradeoffs")
    assert tradeoffs.samples == [1, 4, 3] and tradeoffs.low_confidence
    assert tradeoffs.score == min(3, tradeoffs.score)  # the median, or lower after the app's caps
    clarity = card.dimension("clarity")
    assert clarity.samples == [4, 4, 4] and not clarity.low_confidence
    assert card.samples == 3 and card.engine == "llm"


def test_one_sample_is_judged_greedily(corpus_services: Services, tmp_path: Path) -> None:
    """Temperature 0: the same answer gets the same grade (at the chat default 0.2 and the
    server's random seed, the local model's judge call ran past its token limit now and then)."""
    with scripted(dict.fromkeys(DIMS, 3)) as server:
        engine = LLMEngine(settings_for(server, tmp_path))
        card = Scorer(engine, corpus_services.bank, corpus_services.rubric).score(ANSWER, question_id=QID)
        body = server.requests[0].body
    assert body.get("temperature") == 0.0 and card.samples == 1
    assert all(d.samples == [] and not d.low_confidence for d in card.dimensions)


def test_feedback_samples_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shared_data_dir: Path
) -> None:
    steady = dict.fromkeys(DIMS, 4)
    with scripted({**steady, "clarity": 2}, {**steady, "clarity": 5}, {**steady, "clarity": 4}) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        code = main(
            ["feedback", "--question-id", QID, "--answer", ANSWER, "--engine", "llm", "--samples", "3"]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "(samples 2, 5, 4: low confidence)" in out


@pytest.mark.parametrize("bad", ["0", "10", "two"])
def test_a_bad_sample_count_is_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["feedback", "--question-id", QID, "--answer", ANSWER, "--samples", bad])
    assert exit_.value.code == 2 and "--samples" in capsys.readouterr().err
