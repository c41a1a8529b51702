"""The whole-interview token budget (issue 17 item 3): every call of a scripted 20-answer LLM
interview, counted by the server that received it."""

from __future__ import annotations

from evals.interview_tokens import GOAL_TOKENS, run


def test_a_20_answer_interview_stays_within_the_token_budget() -> None:
    figures = run()
    assert figures["answers"] == 20
    # Every answer was judged, every question phrased, every follow-up of the budget used.
    assert figures["calls"] == {"ask": 5, "judge": 20, "follow_up": 15}
    assert figures["total_prompt_tokens"] <= GOAL_TOKENS, figures
    assert figures["max_tokens_per_answer"] <= 2000, figures
    # The schema of the structured output is counted too (providers bill it as prompt).
    assert figures["schema_tokens"]["judge"] > 0
