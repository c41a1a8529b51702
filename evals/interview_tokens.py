"""Whole-interview prompt tokens on the LLM path (issue 17 item 3).

A scripted 20-answer interview (5 questions, 3 follow-ups each) runs through the real interview
graph and the real `openai` client against a local OpenAI-compatible server that logs every
request. The server, not the app, counts the tokens of what it received (tiktoken, the model's
encoding; the JSON schema of a structured-output request counted on its own line, since
providers bill it as prompt), so every call is included: question phrasing, judge, follow-up,
hint and anything else the app sends.

Run: `python -m evals.interview_tokens` (also part of `make bench`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PEER_TOKENS = 55_000  # the closest open-source peer, per 20-turn interview (issue 17)
GOAL_TOKENS = 30_000
MODEL = "gpt-4o-mini"
# The five ML system design questions whose text and talking points are of median size in the
# bank (269-278 tokens; the track ranges from 211 to 440), so the figure is the typical interview.
QUESTION_IDS = (
    "msd-video-homepage",
    "msd-offline-online-mismatch",
    "msd-position-bias-feedback-loops",
    "msd-feature-store-ranking",
    "msd-ads-ctr-prediction",
)
QUESTIONS = len(QUESTION_IDS)
FOLLOW_UPS = 3
# Follow-up answers that leave the gaps open (so every follow-up of the budget is used).
FOLLOW_UP_ANSWERS = (
    "I would look at the data we already log first and pick something reasonable for a first version, "
    "then iterate on it with the team once we see how it behaves in production and what users say.",
    "It depends on the product and the constraints we have, but I would keep it simple at first, ship "
    "it behind a flag, measure what happens for a couple of weeks and only then add more moving parts.",
    "I would start with a baseline that everyone understands and then improve it step by step once we "
    "have feedback from users and from the people who operate the system day to day.",
)


@dataclass
class Tally:
    """What the server saw, by kind of call."""

    calls: Counter[str] = field(default_factory=Counter)
    message_tokens: Counter[str] = field(default_factory=Counter)
    schema_tokens: Counter[str] = field(default_factory=Counter)
    last_phrase_tokens: int = 0

    @property
    def total(self) -> int:
        return sum(self.message_tokens.values()) + sum(self.schema_tokens.values())


def _kind(body: dict[str, Any]) -> str:
    if "response_format" in body:
        return "judge"
    system = str(body.get("messages", [{}])[0].get("content", ""))
    kinds = (("follow-up", "follow_up"), ("rewrite interview questions", "ask"), ("short hint", "hint"))
    for word, kind in kinds:
        if word in system.lower():
            return kind
    return "other"


def judge_reply(body: dict[str, Any]) -> str:
    """A valid, middling judgement built from the request's own schema: every dimension 3,
    nothing covered (so gaps stay open), no evidence."""
    schema = body["response_format"]["json_schema"]["schema"]
    dims = schema["$defs"]["DimensionScore"]["properties"]["id"]["enum"]
    return json.dumps(
        {
            "dimensions": [{"id": d, "score": 3, "evidence": [], "tip": "Be more specific."} for d in dims],
            "covered_points": [],
            "covered_spans": {},
            "strengths": [],
            "suggested_opening": "",
        }
    )


def first_answer(services: Any, question_id: str) -> str:
    """A real, mid-length answer to the asked question from the team's labelled set, else the
    first 150 words of the question's strong-answer outline."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from evals.labelled import load_answers

    pool = [a for a in load_answers() if 90 <= len(a.answer.split()) <= 180]
    same = [a.answer for a in pool if a.question_id == question_id]
    outline = services.bank.get(question_id).strong_answer.as_text()
    return same[0] if same else " ".join(outline.split()[:150])


def run(data_dir: Path | None = None) -> dict[str, Any]:
    """Run the scripted interview; returns the tally as plain figures."""
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from openai_server import FakeOpenAI

    from app.config import Settings
    from app.corpus.loader import QuestionBank
    from app.interview.plan import InterviewConfig
    from app.services import build_services
    from app.tokens import count_tokens, encoding_name_for_model

    enc = encoding_name_for_model(MODEL)
    tally = Tally()

    def respond(body: dict[str, Any]) -> str:
        kind = _kind(body)
        tally.calls[kind] += 1
        words = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        tokens = count_tokens(words, enc) + 4 * len(body.get("messages", []))
        tally.message_tokens[kind] += tokens
        if kind == "judge":
            tally.schema_tokens[kind] += count_tokens(json.dumps(body["response_format"]), enc)
            return judge_reply(body)
        tally.last_phrase_tokens = tokens
        return "Could you say more about how you would measure that?"

    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(default=respond) as server:
        settings = Settings(
            data_dir=Path(tmp) if data_dir is None else data_dir,
            openai_base_url=server.base_url,
            openai_api_key="bench",
            model=MODEL,
            llm_timeout_s=10,
            llm_max_retries=0,
        )
        services = build_services(settings)
        # The interview draws from these five only (a bank of them), in its own order.
        full = services.bank
        services.__dict__["bank"] = QuestionBank(
            questions={q: full.get(q) for q in QUESTION_IDS}, files={q: full.files[q] for q in QUESTION_IDS}
        )
        interviews = services.interviews("llm")
        step = interviews.start(
            InterviewConfig(track="ml_system_design", questions=QUESTIONS, follow_ups=FOLLOW_UPS)
        )
        answered = 0
        asked: set[str] = set()
        per_answer: list[int] = []
        while not step.done and answered < QUESTIONS * (1 + FOLLOW_UPS):
            before = tally.total
            last = step.messages[-1] if step.messages else None
            if last is not None and last.kind == "question":
                text = first_answer(services, str(last.question_id))
            else:
                text = FOLLOW_UP_ANSWERS[answered % len(FOLLOW_UP_ANSWERS)]
            asked.add(str(last.question_id if last else None))
            step = interviews.answer(step.session_id, text)
            per_answer.append(tally.total - before)
            answered += 1
    if not asked <= set(QUESTION_IDS):
        raise RuntimeError(f"the script asked questions outside its set: {sorted(asked)}")
    return {
        "questions": sorted(asked),
        "answers": answered,
        "calls": dict(tally.calls),
        "message_tokens": dict(tally.message_tokens),
        "schema_tokens": dict(tally.schema_tokens),
        "total_prompt_tokens": tally.total,
        "last_phrase_prompt_tokens": tally.last_phrase_tokens,
        "max_tokens_per_answer": max(per_answer) if per_answer else 0,
        "peer_tokens": PEER_TOKENS,
        "ratio_to_peer": round(tally.total / PEER_TOKENS, 2),
    }


def main() -> int:
    figures = run()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
