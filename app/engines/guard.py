"""What goes to a model and what comes back from it, kept safe whatever the endpoint does.

- Instructions aimed at the grader are taken out of an answer before a model reads it.
- The configured API key (and anything shaped like a bearer token or an OpenAI key) never
  appears in model output we show or store, even when an endpoint echoes its request headers.
- Replies and each field of an assessment have a size limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.engines.features import content_sentences
from app.engines.types import Assessment, DimensionScore, Strength

REDACTED = "[redacted]"
REMOVED_INSTRUCTION = "[an instruction to the grader was removed here]"
# A judge reply is a few kilobytes; an interviewer turn a few hundred characters.
MAX_REPLY_CHARS = 60_000
MAX_PHRASE_CHARS = 4_000
MAX_QUOTE_CHARS = 1_000
MAX_TIP_CHARS = 400
MAX_STRENGTH_CHARS = 300
MAX_OPENING_CHARS = 800
MAX_FLAG_CHARS = 200
MAX_ITEMS = 12
_TOKEN_SHAPES = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{12,}", re.IGNORECASE)


# The unfinished last word of a stream that could still become a token: s, sk, sk-..., b..bearer.
_GROWING_TOKEN = re.compile(r"(\b(s|sk|sk-[A-Za-z0-9_-]*)|\b(b|be|bea|bear|beare|bearer))$", re.IGNORECASE)


class ReplyTooLong(ValueError):
    """A model reply beyond the size any real answer of that kind needs."""


def without_instructions(answer: str) -> str:
    """The answer as a model should read it: grader-directed instructions replaced by a marker."""
    _, injected = content_sentences(answer)
    for sentence in injected:
        answer = answer.replace(sentence, REMOVED_INSTRUCTION)
    return answer


class Scrubber:
    """Removes the configured key and token-shaped strings from text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPES.sub(lambda m: f"{m.group(1)} {REDACTED}" if m.group(1) else REDACTED, text)

    def stream(self, pieces: Iterable[str], limit: int = MAX_PHRASE_CHARS) -> Iterator[str]:
        """Scrubbed text as it arrives; raises ReplyTooLong past `limit` characters."""
        raw = ""
        shown = ""
        for piece in pieces:
            raw += piece
            if len(raw) > limit:
                raise ReplyTooLong(f"reply longer than {limit:,} characters")
            clean = self(raw)
            ready = clean[: self._safe_end(clean)]
            if ready.startswith(shown) and len(ready) > len(shown):
                yield ready[len(shown) :]
                shown = ready
        clean = self(raw)
        if clean.startswith(shown) and len(clean) > len(shown):
            yield clean[len(shown) :]

    def _safe_end(self, text: str) -> int:
        """Where streamed text may be shown up to: anything at the end that could still grow into
        something scrubbed (a bearer token, an `sk-` key, the start of the configured key) waits
        for the next piece; ordinary words go out as they arrive."""
        end = len(text)
        word_start = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
        if _GROWING_TOKEN.search(text[word_start:]):
            end = word_start
        before = text[:end].rstrip()
        if before.lower().endswith("bearer"):
            end = len(before) - len("bearer")
        for secret in self.secrets:
            for k in range(min(len(secret) - 1, len(text)), 0, -1):
                if text.endswith(secret[:k]):
                    end = min(end, len(text) - k)
                    break
        return max(0, end)

    def final(self, text: str, limit: int) -> str:
        if len(text) > limit:
            raise ReplyTooLong(f"reply longer than {limit:,} characters")
        return self(text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clip_assessment(assessment: Assessment) -> Assessment:
    """Each field within its size limit; a quote is cut to a prefix, so it stays verbatim."""
    dims = [
        DimensionScore(
            id=d.id[:60],
            score=d.score,
            evidence=[q[:MAX_QUOTE_CHARS] for q in d.evidence[:MAX_ITEMS]],
            tip=_clip(d.tip, MAX_TIP_CHARS),
        )
        for d in assessment.dimensions[:MAX_ITEMS]
    ]
    strengths = [
        Strength(text=_clip(s.text, MAX_STRENGTH_CHARS), evidence=s.evidence[:MAX_QUOTE_CHARS])
        for s in assessment.strengths[:MAX_ITEMS]
    ]
    spans = dict(list(assessment.covered_spans.items())[:100])
    return assessment.model_copy(
        update={
            "dimensions": dims,
            "strengths": strengths,
            "covered_points": [p[:120] for p in assessment.covered_points[:100]],
            "covered_spans": {k[:120]: v[:MAX_QUOTE_CHARS] for k, v in spans.items()},
            "suggested_opening": _clip(assessment.suggested_opening, MAX_OPENING_CHARS),
            "flags": [_clip(f, MAX_FLAG_CHARS) for f in assessment.flags[:MAX_ITEMS]],
            "non_answer": _clip(assessment.non_answer, MAX_FLAG_CHARS) if assessment.non_answer else None,
        }
    )
