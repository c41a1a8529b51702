"""The LLM engine: any OpenAI-compatible endpoint through langchain-openai's ChatOpenAI.

The judge asks for the endpoint's structured output (a JSON schema made from the pydantic model,
scores bounded); an endpoint that refuses it with a 400 naming the parameter gets prompt-only JSON
from then on. Output is parsed and validated with pydantic; malformed output gets one repair
attempt; when the endpoint keeps failing, the offline engine does the job and the result says
so (engine "offline" with the fallback reason). The API key never leaves the client.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.corpus.models import Question, Rubric
from app.engines.budget import (
    EXCERPT_CHARS,
    HISTORY_TOKENS,
    PHRASE_MAX_TOKENS,
    cost_usd,
    fit_history,
    message_tokens,
    price_table,
)
from app.engines.consistency import MAX_SAMPLES, SAMPLE_TEMPERATURE, SINGLE_TEMPERATURE, combine
from app.engines.guard import (
    MAX_PHRASE_CHARS,
    MAX_REPLY_CHARS,
    ReplyTooLong,
    Scrubber,
    clip_assessment,
    without_instructions,
)
from app.engines.offline import OfflineEngine
from app.engines.types import (
    Assessed,
    Assessment,
    AssessRequest,
    EngineName,
    Phrased,
    PhraseRequest,
    RunInfo,
)
from app.prompts import Message, PromptLibrary, PromptTemplate, load_prompts

log = logging.getLogger("coach.llm")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class StructuredOutputRefused(Exception):
    """The endpoint answered a structured-output request with a 400 naming the parameter."""


class MalformedOutput(Exception):
    """The model's reply did not parse into the expected structure."""


STATUS_REASONS = {
    400: "request refused (400)",
    401: "authentication failed (401)",
    403: "permission denied (403)",
    404: "model or endpoint not found (404)",
}


def _reason(err: BaseException) -> str:
    """A short, key-free reason for a failed call."""
    name = type(err).__name__
    text = str(err)
    if "timed out" in text.lower() or "Timeout" in name:
        return "timeout"
    status = getattr(err, "status_code", None)
    if status == 429 or "429" in text[:40]:
        return "rate limited (429)"
    if status in STATUS_REASONS:
        return STATUS_REASONS[status]
    if isinstance(err, ReplyTooLong) or name == "LengthFinishReasonError":
        return "reply too long"
    if isinstance(status, int):
        return f"server error ({status})"
    if "Connection" in name or "connect" in text.lower():
        return "endpoint unreachable"
    if isinstance(err, MalformedOutput | json.JSONDecodeError | ValidationError):
        return "malformed output"
    return name


# Endpoints (base URL + model) that answered a structured-output request with a 400 naming it.
NO_STRUCTURED_OUTPUT: set[str] = set()
_STRUCTURED_WORDS = ("response_format", "json_schema", "structured output", "response format")


# Bounds in the schema keep a small model from writing until its token limit (a quote of 5-30
# words and a one-sentence tip fit in them); clip_assessment checks them again after parsing.
JUDGE_QUOTE_CHARS = 240
JUDGE_TEXT_CHARS = 200
JUDGE_LIST_ITEMS = 2


def judge_format(question: Question, rubric: Rubric) -> dict[str, Any]:
    """The judge's `response_format` for one question: the Assessment schema narrowed to this
    question's dimensions (one each, ids as an enum) and talking points, with short fields, so a
    small model cannot invent ids or talk until the token limit."""
    schema = copy.deepcopy(Assessment.model_json_schema())
    dims = list(rubric.applicable(question.track))
    points = [tp.id for tp in question.talking_points]
    quote = {"type": "string", "maxLength": JUDGE_QUOTE_CHARS}
    text = {"type": "string", "maxLength": JUDGE_TEXT_CHARS}
    defs, props = schema["$defs"], schema["properties"]
    defs["DimensionScore"]["properties"].pop("samples", None)  # the app's, from several judgements
    defs["DimensionScore"]["properties"].update(
        id={"type": "string", "enum": dims},
        evidence={"type": "array", "items": quote, "maxItems": JUDGE_LIST_ITEMS},
        tip=text,
    )
    defs["Strength"]["properties"].update(text=text, evidence=quote)
    props["dimensions"].update(minItems=len(dims), maxItems=len(dims))
    props["covered_points"] = {"type": "array", "items": {"type": "string", "enum": points or [""]}}
    props["covered_spans"] = {"type": "object", "additionalProperties": quote}
    props["strengths"].update(maxItems=JUDGE_LIST_ITEMS)
    props["suggested_opening"] = text
    for app_only in ("overall", "non_answer", "flags"):  # decided by the app, not the judge
        props.pop(app_only, None)
    _strip_labels(schema)
    return {"type": "json_schema", "json_schema": {"name": "assessment", "schema": schema, "strict": False}}


def _summed(runs: Sequence[RunInfo]) -> RunInfo:
    """One record for the samples of a judgement: tokens and cost added up, latency to the last."""
    first = runs[0]
    return first.model_copy(
        update={
            "prompt_tokens": sum(r.prompt_tokens for r in runs),
            "cached_tokens": sum(r.cached_tokens for r in runs),
            "completion_tokens": sum(r.completion_tokens for r in runs),
            "cost_usd": round(sum(r.cost_usd for r in runs), 6),
            "latency_ms": max(r.latency_ms for r in runs),
            "samples": len(runs),
        }
    )


def _strip_labels(node: Any) -> None:
    """Titles and descriptions out of a JSON schema: the field names say it, and the schema is
    billed as prompt tokens on every judge call."""
    if isinstance(node, dict):
        for key in ("title", "description"):
            if isinstance(node.get(key), str):
                del node[key]
        for value in node.values():
            _strip_labels(value)
    elif isinstance(node, list):
        for value in node:
            _strip_labels(value)


def refuses_structured_output(err: BaseException) -> bool:
    """A 400 from an endpoint that does not support `response_format` (it names the parameter)."""
    status = getattr(err, "status_code", None)
    text = str(err).lower()
    return status == 400 and any(word in text for word in _STRUCTURED_WORDS)


def parse_json(text: str, schema: type[BaseModel]) -> BaseModel:
    """The first JSON object in text, validated against schema."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise MalformedOutput("no JSON object in the reply")
    try:
        return schema.model_validate(json.loads(body[start : end + 1]))
    except (json.JSONDecodeError, ValidationError) as err:
        raise MalformedOutput(str(err)[:300]) from None


def rubric_view(rubric: Rubric, track: str) -> list[dict[str, str]]:
    """The dimensions scored for a track, named and anchored as the rubric has them for it."""
    views = []
    for d in rubric.dimensions:
        if not d.applies(track):
            continue
        meaning = d.meaning(track)
        views.append(
            {
                "id": d.id,
                "name": meaning.name,
                "one": meaning.anchors.one,
                "three": meaning.anchors.three,
                "five": meaning.anchors.five,
                "one_brief": meaning.brief.one,
                "three_brief": meaning.brief.three,
                "five_brief": meaning.brief.five,
            }
        )
    return views


class LLMEngine:
    """Implements the seam over an OpenAI-compatible chat endpoint."""

    name: EngineName = "llm"

    def __init__(
        self,
        settings: Settings,
        fallback: OfflineEngine | None = None,
        prompts: PromptLibrary | None = None,
        chat: Any = None,
        judge_prompt: str | None = None,
    ) -> None:
        self.settings = settings
        self.model = settings.model
        self.fallback = fallback or OfflineEngine()
        self.prompts = prompts or load_prompts()
        self.prices = price_table(settings.prices)
        self._chat = chat
        # A pinned judge prompt version (evals); default: the latest. Unknown: a NotFoundError now.
        self.judge_prompt = self.prompts.get(judge_prompt).id if judge_prompt else None
        self.scrub = Scrubber([settings.openai_api_key])

    @property
    def chat(self) -> Any:
        """ChatOpenAI, built on first use (never at import time)."""
        if self._chat is None:
            from langchain_openai import ChatOpenAI

            self._chat = ChatOpenAI(
                model=self.model,
                base_url=self.settings.openai_base_url,
                api_key=self.settings.openai_api_key or "not-needed",  # type: ignore[arg-type]
                timeout=self.settings.llm_timeout_s,
                max_retries=self.settings.llm_max_retries,
                stream_usage=True,
                temperature=0.2,
                max_tokens=self.settings.llm_max_tokens,  # type: ignore[call-arg]
            )
        return self._chat

    # -- plumbing ------------------------------------------------------------------------
    def _record(
        self, prompt: PromptTemplate, messages: Sequence[Message], reply: Any, started: float
    ) -> RunInfo:
        usage = getattr(reply, "usage_metadata", None) or {}
        prompt_tokens = int(usage.get("input_tokens") or message_tokens(messages, self.model))
        completion_tokens = int(usage.get("output_tokens") or 0)
        cached_tokens = int((usage.get("input_token_details") or {}).get("cache_read") or 0)
        run = RunInfo(
            engine="llm",
            model=self.model,
            prompt_version=prompt.id,
            prompt_tokens=prompt_tokens,
            cached_tokens=cached_tokens,
            completion_tokens=completion_tokens,
            cost_usd=round(cost_usd(self.model, prompt_tokens, completion_tokens, self.prices), 6),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        log.info(
            "llm call %s model=%s tokens=%d+%d cached=%d",
            prompt.id,
            self.model,
            prompt_tokens,
            completion_tokens,
            cached_tokens,
        )
        return run

    def _invoke(
        self, messages: Sequence[Message], fmt: dict[str, Any] | None = None, temperature: float | None = None
    ) -> Any:
        """One chat call; with a schema, the endpoint's structured output is asked for. An endpoint
        that refuses it (a 400 naming the parameter) is remembered, and StructuredOutputRefused
        tells the caller to ask again with the JSON shape in the prompt."""
        chat_messages = [(m.role, m.content) for m in messages]
        options: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
        if fmt is None:
            return self.chat.invoke(chat_messages, **options)
        try:
            return self.chat.invoke(chat_messages, response_format=fmt, **options)
        except Exception as err:
            if not refuses_structured_output(err):
                raise
            log.warning("endpoint refused structured output; using prompt-only JSON from now on")
            NO_STRUCTURED_OUTPUT.add(self.endpoint_key)
            raise StructuredOutputRefused from err

    @property
    def judge_prompt_id(self) -> str:
        """The judge prompt in effect: the pinned one, else the latest."""
        return self.judge_prompt or self.prompts.latest("scorer.judge").id

    @property
    def structured(self) -> bool:
        """Whether this endpoint takes structured output (until it refuses it once)."""
        return self.endpoint_key not in NO_STRUCTURED_OUTPUT

    @property
    def endpoint_key(self) -> str:
        return f"{self.settings.openai_base_url or 'https://api.openai.com/v1'}|{self.model}"

    def _fallback_run(self, prompt_id: str, reason: str) -> RunInfo:
        log.warning("llm call %s failed (%s); offline engine used", prompt_id, reason)
        return RunInfo(engine="offline", model=None, prompt_version=prompt_id, fallback_reason=reason)

    # -- assessment ----------------------------------------------------------------------
    def assess(self, request: AssessRequest) -> Assessed:
        prompt = self.prompts.get(self.judge_prompt_id)

        def render(structured: bool) -> list[Message]:
            return self.judge_messages(request, structured)

        wanted = max(1, min(request.samples, MAX_SAMPLES))
        temperature = SAMPLE_TEMPERATURE if wanted > 1 else SINGLE_TEMPERATURE
        started = time.perf_counter()
        judged: list[Assessment] = []
        runs: list[RunInfo] = []
        error: Exception | None = None
        for _ in range(wanted):
            try:
                assessment, run = self._judge_once(request, prompt, render, temperature, started)
            except Exception as err:  # one failed sample: the others still count
                error = err
                continue
            judged.append(assessment)
            runs.append(run)
        if not judged:  # any endpoint failure -> visible offline fallback
            offline = self.fallback.assess(request)
            offline.run = self._fallback_run(prompt.id, _reason(error or MalformedOutput("no reply")))
            return offline
        return Assessed(assessment=combine(judged), run=_summed(runs))

    def judge_messages(self, request: AssessRequest, structured: bool) -> list[Message]:
        """The judge's messages for an answer; the JSON keys are spelled out only for an endpoint
        without structured output (with it, the schema says them)."""
        prompt = self.prompts.get(self.judge_prompt_id)
        question = request.question
        values = {
            "track": question.track.replace("_", " "),
            "question": question.question,
            "talking_points": [{"id": tp.id, "point": tp.point} for tp in question.talking_points],
            "rubric": rubric_view(request.rubric, question.track),
            "answer": without_instructions(request.answer),
            "reference": request.reference or "",
            "structured": structured,
        }
        return prompt.render(**{k: v for k, v in values.items() if k in prompt.variables})

    def _judge_once(
        self,
        request: AssessRequest,
        prompt: PromptTemplate,
        render: Callable[[bool], list[Message]],
        temperature: float | None,
        started: float,
    ) -> tuple[Assessment, RunInfo]:
        """One judgement: structured output when the endpoint takes it, one repair, checked."""
        messages = render(self.structured)
        fmt = judge_format(request.question, request.rubric) if self.structured else None
        try:
            reply = self._invoke(messages, fmt, temperature)
        except StructuredOutputRefused:
            messages, fmt = render(False), None
            reply = self._invoke(messages, None, temperature)
        content = self.scrub.final(str(reply.content), MAX_REPLY_CHARS)
        try:
            assessment = parse_json(content, Assessment)
        except MalformedOutput as err:
            assessment, reply = self._repair(messages, content, err, fmt)
        run = self._record(prompt, messages, reply, started)
        assert isinstance(assessment, Assessment)
        assessment = clip_assessment(assessment)
        if not assessment.has_dimensions(request.rubric.applicable(request.question.track)):
            raise MalformedOutput("not every rubric dimension was scored")
        return assessment, run

    def _repair(
        self, messages: Sequence[Message], bad: str, err: MalformedOutput, fmt: dict[str, Any] | None
    ) -> tuple[BaseModel, Any]:
        """One repair attempt: show the model its reply and the error, ask for valid JSON."""
        repair = [
            *messages,
            Message(role="assistant", content=bad[:4000]),
            Message(
                role="user",
                content=(
                    f"That was not valid JSON for the schema ({err}). "
                    "Reply with the corrected JSON object only."
                ),
            ),
        ]
        reply = self._invoke(repair, fmt)
        return parse_json(self.scrub.final(str(reply.content), MAX_REPLY_CHARS), Assessment), reply

    # -- phrasing ------------------------------------------------------------------------
    def _phrase_messages(self, request: PhraseRequest) -> tuple[PromptTemplate, list[Message]]:
        q = request.question
        if request.kind == "ask":
            prompt = self.prompts.latest("interviewer.ask")
            rendered = prompt.render(
                track=q.track,
                question=request.planned_text,
                number=request.number,
                total=request.total,
            )
        elif request.kind == "hint":
            prompt = self.prompts.latest("interviewer.hint")
            point = request.talking_point.follow_up if request.talking_point else request.planned_text
            rendered = prompt.render(question=q.question, talking_point=point)
        else:
            prompt = self.prompts.latest("interviewer.follow_up")
            gap = request.talking_point.follow_up if request.talking_point else request.planned_text
            rendered = prompt.render(
                question=q.question,
                planned_follow_up=request.planned_text,
                gap=gap,
                answer_excerpt=request.answer_excerpt[-EXCERPT_CHARS:],
            )
        room = HISTORY_TOKENS.get(request.kind, 0)
        if not room:
            return prompt, rendered
        history = [
            Message(role="assistant" if t.role == "interviewer" else "user", content=t.text)
            for t in request.history
            if t.role == "interviewer"
        ]
        fitted = fit_history(history[-1:], room, self.model)
        return prompt, [rendered[0], *fitted.messages, rendered[1]]

    def phrase(self, request: PhraseRequest) -> Phrased:
        final: Phrased | None = None
        for piece in self.stream_phrase(request):
            if isinstance(piece, Phrased):
                final = piece
        assert final is not None
        return final

    def stream_phrase(self, request: PhraseRequest) -> Iterator[str | Phrased]:
        prompt, messages = self._phrase_messages(request)
        started = time.perf_counter()
        pieces: list[str] = []
        state: dict[str, Any] = {"aggregate": None}

        def chunks() -> Iterator[str]:
            chat_messages = [(m.role, m.content) for m in messages]
            for chunk in self.chat.stream(chat_messages, max_tokens=PHRASE_MAX_TOKENS):
                state["aggregate"] = chunk if state["aggregate"] is None else state["aggregate"] + chunk
                yield str(chunk.content or "")
            metadata = getattr(state["aggregate"], "response_metadata", None) or {}
            if metadata.get("finish_reason") == "length":
                raise ReplyTooLong(f"the wording went past {PHRASE_MAX_TOKENS} tokens")

        try:
            for text in self.scrub.stream(chunks(), MAX_PHRASE_CHARS):
                if text:
                    pieces.append(text)
                    yield text
            aggregate = state["aggregate"]
            words = "".join(pieces).strip()
            if not words:
                raise MalformedOutput("empty reply")
            yield Phrased(text=words, run=self._record(prompt, messages, aggregate, started))
        except Exception as err:  # fall back to the corpus wording, visibly
            if pieces:
                yield "\n"
            offline = self.fallback.phrase(request)
            yield offline.text
            yield Phrased(text=offline.text, run=self._fallback_run(prompt.id, _reason(err)))

    def request_tokens(self, request: PhraseRequest) -> int:
        """Prompt tokens this phrasing request would send (for budget checks and benches)."""
        return message_tokens(self._phrase_messages(request)[1], self.model)
