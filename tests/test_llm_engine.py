"""The LLM engine over real HTTP: the real openai client against a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import Action, FakeOpenAI
from scripted import follow_up_request

from app.config import Settings, load_settings
from app.engines.budget import PHRASE_MAX_TOKENS, PROMPT_BUDGET, cost_usd, price_table
from app.engines.factory import make_engine
from app.engines.llm import LLMEngine
from app.engines.offline import OfflineEngine
from app.engines.types import AssessRequest, Phrased, PhraseRequest
from app.errors import UserInputError
from app.scoring.scorer import Scorer
from app.services import Services

SECRET = "sk-test-SECRET-0123456789"
QID = "msd-news-feed-ranking"
ANSWER = (
    "At a high level, I'd rank posts with a multi-task model of likes, comments and hides. "
    "We would measure daily active users and a 2% lift in comments."
)


def judge_reply(
    quote: str = "At a high level, I'd rank posts with a multi-task model of likes, comments and hides.",
) -> str:
    dims = [
        {"id": d, "score": 4, "evidence": [quote], "tip": "Name an alternative."}
        for d in ("step_back", "business_value", "clarity", "technical_coverage", "tradeoffs")
    ]
    return json.dumps(
        {
            "dimensions": dims,
            "covered_points": ["multi_task_model"],
            "strengths": [{"text": "Led with the idea", "evidence": quote}],
            "suggested_opening": "I'd rank posts by a value score over predicted actions.",
            "overall": 4,
        }
    )


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=lambda body: judge_reply()) as srv:
        yield srv


@pytest.fixture
def engine(server: FakeOpenAI, shared_data_dir: Path, tmp_path: Path) -> LLMEngine:
    settings = Settings(
        data_dir=tmp_path,
        openai_api_key=SECRET,
        openai_base_url=server.base_url,
        model="gpt-4o-mini",
        llm_timeout_s=1.0,
        llm_max_retries=1,
    )
    return LLMEngine(settings)


@pytest.fixture
def request_(corpus_services: Services) -> AssessRequest:
    return AssessRequest(corpus_services.bank.get(QID), ANSWER, corpus_services.rubric)


def test_assess_over_http_with_usage_and_cost(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    result = engine.assess(request_)
    assert result.run.engine == "llm" and result.run.model == "gpt-4o-mini"
    assert result.run.prompt_version == "scorer.judge.v3" and result.run.fallback_reason is None
    assert len(result.assessment.dimensions) == 5
    assert result.run.prompt_tokens > 0 and result.run.cost_usd > 0
    sent = server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert "openai/python" in sent.headers.get("user-agent", "").lower()
    user = sent.body["messages"][-1]["content"]
    assert "<candidate_answer>" in user and ANSWER in user


def test_malformed_output_gets_one_repair(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    server.reply("Sure! Here is my assessment: it was good.")
    result = engine.assess(request_)
    assert result.run.engine == "llm" and len(server.requests) == 2
    assert "not valid JSON" in server.requests[1].body["messages"][-1]["content"]


def test_malformed_twice_falls_back_visibly(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    server.reply("no json here")
    server.reply('{"dimensions": []}')
    result = engine.assess(request_)
    assert result.run.engine == "offline" and result.run.fallback_reason == "malformed output"
    assert result.run.label == "offline (fallback: malformed output)"


def test_429_is_retried_then_succeeds(engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest) -> None:
    server.enqueue(Action("status", status=429))
    result = engine.assess(request_)
    assert result.run.engine == "llm" and len(server.requests) == 2


@pytest.mark.parametrize(
    "actions, reason",
    [
        ([Action("status", status=500)] * 2, "server error (500)"),
        ([Action("status", status=429)] * 2, "rate limited (429)"),
        ([Action("hang", seconds=2.5)] * 2, "timeout"),
        ([Action("malformed")] * 2, "malformed output"),
    ],
)
def test_endpoint_failures_fall_back_to_offline(
    engine: LLMEngine,
    server: FakeOpenAI,
    request_: AssessRequest,
    actions: list[Action],
    reason: str,
) -> None:
    server.enqueue(*actions)
    result = engine.assess(request_)
    assert result.run.engine == "offline"
    assert result.run.fallback_reason == reason
    offline = OfflineEngine().assess(request_).assessment
    assert result.assessment == offline


def test_unreachable_endpoint_falls_back(request_: AssessRequest, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        openai_base_url="http://127.0.0.1:9/v1",
        llm_timeout_s=1,
        llm_max_retries=0,
    )
    result = LLMEngine(settings).assess(request_)
    assert result.run.engine == "offline" and result.run.fallback_reason == "endpoint unreachable"


def test_scorer_drops_quotes_the_model_invented(
    engine: LLMEngine, server: FakeOpenAI, corpus_services: Services
) -> None:
    server.reply(judge_reply(quote="I shipped it to 10 million users"))
    card = Scorer(engine, corpus_services.bank, corpus_services.rubric).score(ANSWER, question_id=QID)
    assert card.engine == "llm" and all(d.evidence == [] for d in card.dimensions)
    assert card.strengths == [] and any("dropped" in f for f in card.flags)


def test_scorecard_says_when_it_fell_back(
    engine: LLMEngine, server: FakeOpenAI, corpus_services: Services
) -> None:
    server.enqueue(Action("status", status=500), Action("status", status=500))
    card = Scorer(engine, corpus_services.bank, corpus_services.rubric).score(ANSWER, question_id=QID)
    assert card.engine == "offline" and card.fallback_reason == "server error (500)"
    assert card.engine_label == "offline (fallback: server error (500))"


def phrase_request(corpus_services: Services, turns: int = 0) -> PhraseRequest:
    question = corpus_services.bank.get(QID)
    return follow_up_request(question, turns, ANSWER, "a fairly long sentence about ranking ", 12)


def test_streaming_yields_pieces_then_the_result(
    engine: LLMEngine, server: FakeOpenAI, corpus_services: Services
) -> None:
    server.enqueue(Action("stream", chunks=["What are ", "you optimising ", "for?"]))
    parts = list(engine.stream_phrase(phrase_request(corpus_services)))
    assert parts[:3] == ["What are ", "you optimising ", "for?"]
    final = parts[-1]
    assert isinstance(final, Phrased) and final.text == "What are you optimising for?"
    assert final.run.engine == "llm" and final.run.completion_tokens > 0
    assert server.requests[-1].body["stream"] is True


def test_stream_failure_falls_back_to_the_corpus_wording(
    engine: LLMEngine, server: FakeOpenAI, corpus_services: Services
) -> None:
    server.enqueue(Action("status", status=500), Action("status", status=500))
    request = phrase_request(corpus_services)
    final = engine.phrase(request)
    assert final.text == request.planned_text
    assert final.run.engine == "offline" and final.run.fallback_reason == "server error (500)"


def test_a_wording_cut_at_its_token_cap_falls_back_visibly(
    engine: LLMEngine, server: FakeOpenAI, corpus_services: Services
) -> None:
    server.enqueue(Action("stream", chunks=["Well, let me ", "think about "], finish="length"))
    request = phrase_request(corpus_services)
    final = engine.phrase(request)
    body = server.requests[-1].body
    assert PHRASE_MAX_TOKENS in (body.get("max_tokens"), body.get("max_completion_tokens")), body
    assert final.text == request.planned_text
    assert final.run.engine == "offline" and final.run.fallback_reason == "reply too long"


def test_prompt_stays_within_budget_at_turn_20(engine: LLMEngine, corpus_services: Services) -> None:
    per_turn = [engine.request_tokens(phrase_request(corpus_services, turns=2 * t)) for t in range(1, 21)]
    assert per_turn[-1] <= PROMPT_BUDGET
    assert sum(per_turn) <= 30_000
    assert per_turn[-1] < 2 * per_turn[4], "older turns must be trimmed, not resent"


def test_key_never_appears_in_logs_or_results(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.enqueue(Action("status", status=500), Action("status", status=500))
    failed = engine.assess(request_)
    ok = engine.assess(request_)
    assert caplog.records, "expected the engine and its libraries to log"
    assert SECRET not in caplog.text
    assert SECRET not in failed.run.model_dump_json() and SECRET not in ok.run.model_dump_json()
    assert SECRET not in repr(engine.settings)


def test_cost_table_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cost_usd("gpt-4o-mini", 1_000_000, 0, price_table({})) == pytest.approx(0.15)
    assert cost_usd("llama3", 1000, 1000, price_table({})) == 0.0
    table = price_table(load_settings({"COACH_PRICES": '{"llama3": [1, 2]}'}).prices)
    assert cost_usd("llama3", 1_000_000, 1_000_000, table) == pytest.approx(3.0)
    with pytest.raises(UserInputError):
        load_settings({"COACH_PRICES": "not json"})


def test_engine_choice(tmp_path: Path) -> None:
    assert make_engine(Settings(data_dir=tmp_path)).name == "offline"
    assert make_engine(Settings(data_dir=tmp_path, openai_base_url="http://127.0.0.1:1/v1")).name == "llm"
    assert make_engine(Settings(data_dir=tmp_path, openai_api_key="k"), "offline").name == "offline"
    with pytest.raises(UserInputError, match="needs OPENAI_API_KEY"):
        make_engine(Settings(data_dir=tmp_path), "llm")


# -- structured outputs ------------------------------------------------------------------------


def test_the_judge_asks_for_structured_output_with_bounded_scores(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    result = engine.assess(request_)
    assert result.run.engine == "llm"
    fmt = server.requests[-1].body["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    dimension = schema["$defs"]["DimensionScore"]["properties"]
    assert (dimension["score"]["minimum"], dimension["score"]["maximum"]) == (1, 5)
    # Narrowed to this question: its dimensions once each, its talking points, short fields.
    applicable = list(request_.rubric.applicable(request_.question.track))
    assert dimension["id"]["enum"] == applicable
    assert (
        schema["properties"]["dimensions"]["minItems"]
        == len(applicable)
        == schema["properties"]["dimensions"]["maxItems"]
    )
    points = [tp.id for tp in request_.question.talking_points]
    assert schema["properties"]["covered_points"]["items"]["enum"] == points
    assert schema["properties"]["covered_spans"]["additionalProperties"]["type"] == "string"
    # Labels are billed as prompt tokens on every call and say nothing the field names do not.
    assert '"title"' not in json.dumps(fmt) and '"description"' not in json.dumps(fmt)
    assert "overall" not in schema["properties"] and "non_answer" not in schema["properties"]


def test_an_endpoint_refusing_structured_output_gets_prompt_json_and_is_remembered(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    from app.engines.llm import NO_STRUCTURED_OUTPUT

    server.refuse_response_format = True
    try:
        first = engine.assess(request_)
        assert first.run.engine == "llm" and first.run.fallback_reason is None
        assert [("response_format" in r.body) for r in server.requests] == [True, False]
        # Without a schema, the prompt itself names the JSON keys (with one, it does not).
        system = [r.body["messages"][0]["content"] for r in server.requests]
        assert "Reply with JSON" not in system[0] and "Reply with JSON" in system[1]
        engine.assess(request_)
        assert "response_format" not in server.requests[-1].body and len(server.requests) == 3
    finally:
        NO_STRUCTURED_OUTPUT.discard(engine.endpoint_key)


def test_another_400_is_not_taken_for_a_refusal(
    engine: LLMEngine, server: FakeOpenAI, request_: AssessRequest
) -> None:
    server.enqueue(Action("status", status=400, content="context length exceeded"))
    result = engine.assess(request_)
    assert result.run.engine == "offline" and result.run.fallback_reason == "request refused (400)"
    assert len(server.requests) == 1
