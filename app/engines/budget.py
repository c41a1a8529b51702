"""Token budget for conversations, and the cost of a call from a price table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.prompts import Message
from app.tokens import count_tokens

PROMPT_BUDGET = 2000  # tokens of prompt at any turn
HISTORY_SHARE = 0.45  # share of the budget that recent turns may use
# Conversation a phrasing call carries, by kind: a question does not depend on what came before
# and a hint only on the question; a follow-up sees the interviewer's last words (the answer it
# probes travels as an excerpt). Measured by evals/interview_tokens.py (issue 17 item 3).
HISTORY_TOKENS = {"ask": 0, "hint": 0, "follow_up": 160}
EXCERPT_CHARS = 900  # of the answer a follow-up refers to
# Completion tokens a phrasing call may use: one to three spoken sentences.
PHRASE_MAX_TOKENS = 160

# USD per 1M tokens (input, output). Settings.prices (COACH_PRICES) adds or overrides models.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-mini": (0.25, 2.00),
}


def price_table(overrides: Mapping[str, tuple[float, float]] | None = None) -> dict[str, tuple[float, float]]:
    """Default prices merged with the settings' COACH_PRICES (validated in app.config)."""
    return {**DEFAULT_PRICES, **(overrides or {})}


def cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, table: dict[str, tuple[float, float]]
) -> float:
    """Estimated cost; 0 for a model missing from the table (e.g. a local server)."""
    price = table.get(model)
    if price is None:
        return 0.0
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


def message_tokens(messages: Sequence[Message], model: str) -> int:
    """Tokens of a chat request: content plus ~4 tokens of framing per message."""
    return sum(count_tokens(m.content, model) + 4 for m in messages) + 2


@dataclass(frozen=True)
class FittedHistory:
    messages: list[Message]
    dropped_turns: int


def fit_history(
    history: Sequence[Message], budget: int, model: str, summary_words: int = 60
) -> FittedHistory:
    """The most recent turns that fit in budget tokens; older turns become one summary line.

    Each kept message is clipped to a few hundred tokens so one long answer cannot push every
    other turn out.
    """
    kept: list[Message] = []
    used = 0
    for message in reversed(history):
        clipped = _clip(message, model, max_tokens=max(60, budget // 3))
        cost = count_tokens(clipped.content, model) + 4
        if used + cost > budget:
            break
        kept.append(clipped)
        used += cost
    kept.reverse()
    dropped = len(history) - len(kept)
    if dropped:
        earlier = " / ".join(
            m.content.split("\n")[0][:80] for m in history[:dropped] if m.role == "assistant"
        )
        words = earlier.split()[:summary_words]
        note = f"(Earlier in this interview, {dropped} messages, summarised: {' '.join(words)})"
        kept.insert(0, Message(role="user", content=note))
    return FittedHistory(messages=kept, dropped_turns=dropped)


def _clip(message: Message, model: str, max_tokens: int) -> Message:
    if count_tokens(message.content, model) <= max_tokens:
        return message
    words = message.content.split()
    head = " ".join(words[: max_tokens // 2])
    return Message(role=message.role, content=f"{head} [...]")
