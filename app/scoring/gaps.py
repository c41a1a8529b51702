"""The one follow-up decision per answer, shared by both engines and shown on the scorecard.

decide() looks at the checked scores, the missed talking points, the design stages reached and
what this session already asked, and returns a NextMove: the follow-up to ask (a gap, a missing
design stage, or a deeper probe of a strong answer) or moving on, with the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.corpus.models import DesignStage, Probe, Question
from app.engines.features import HIGH_LEVEL, sentences, specific_words
from app.scoring.scorecard import NextMove, OffTopic, StageStatus
from app.scoring.stages import uses_a_cue

# Wordings per weak dimension; the first is the one a single scored answer gets. In a session a
# wording is never used twice: the variant is picked per session, skipping used ones.
DIMENSION_VARIANTS: dict[str, tuple[str, ...]] = {
    "business_value": (
        "What would this change for the business, and how would you measure it?",
        "Who gains if this works, and which number would show it?",
        "How would you justify building this to a product lead who cares about revenue or retention?",
    ),
    "step_back": (
        "Can you step back and give me the high-level idea in one or two sentences?",
        "If you had ten seconds to pitch this approach to a product lead, what would you say?",
        "Before any detail, what is the core idea of your approach?",
    ),
    "tradeoffs": (
        "What alternative did you consider, and why did you choose against it?",
        "What are you giving up with this choice, and when would the other option win?",
        "Which decision here would you most want to revisit, and what would push you to change it?",
    ),
    "clarity": (
        "Could you walk me through that again, more briefly and in plain words?",
        "How would you explain that to a teammate from another team in three steps?",
        "Can you give me the same answer as a short ordered list of steps?",
    ),
    "technical_coverage": (
        "What else would you need to get right for this to work in production?",
        "Which part of this would be hardest to build, and how would you approach it?",
        "What is still missing before you would trust this in front of real users?",
    ),
}
DIMENSION_FOLLOW_UPS = {dim: variants[0] for dim, variants in DIMENSION_VARIANTS.items()}
# Communication gaps probed before missed talking points, in this order, when scored <= 2.
PRIORITY_DIMENSIONS = ("business_value", "step_back")
STRONG_OVERALL = 4
# An answer to another problem is redirected to the question asked before anything is probed.
REDIRECT_TARGET = "redirect:question"
REDIRECT_VARIANTS = (
    "That reads like an answer to a different problem ({other}). The question here is: {asked} "
    "How would you approach this one?",
    "I think you answered a neighbouring question ({other}). Let's come back to ours: {asked} "
    "Where would you start?",
)
REFERRING_TARGETS = ("dimension:tradeoffs", "dimension:technical_coverage", "probe:")
EXCERPT_WORDS = re.compile(r"\S+(?:[ \t]+\S+){0,7}")


@dataclass(frozen=True)
class Context:
    """What the session knows when deciding (defaults: one scored answer on its own)."""

    probed: frozenset[str] = frozenset()  # targets already followed up on this question
    said: tuple[str, ...] = ()  # follow-up texts already asked in this session
    used: int = 0
    limit: int = 1
    seed: str = ""
    refer: bool = False  # refer to the candidate's own words
    latest: str = ""  # the candidate's latest message


@dataclass(frozen=True)
class Option:
    target: str
    texts: tuple[str, ...]
    label: str
    depth: bool = False
    anchor: str = ""  # a phrase of the candidate's answer the probe builds on (verbatim)
    # Whether any specific sentence of the answer may be quoted (not for a probe that names the
    # words it builds on: quoting an unrelated sentence before it would read as a non sequitur).
    quote_any: bool = True


def opening_states_idea(answer: str) -> bool:
    """The answer's first two sentences already state its idea ("At a high level, ...")."""
    return bool(HIGH_LEVEL.search(" ".join(sentences(answer)[:2])))


def decide(
    question: Question,
    scores: dict[str, int],
    missed: list[str],
    *,
    overall: int,
    answer: str,
    non_answer: bool = False,
    stages: list[StageStatus] | None = None,
    stage_defs: list[DesignStage] | None = None,
    probes: list[Probe] | None = None,
    ctx: Context | None = None,
    off_topic: OffTopic | None = None,
) -> NextMove:
    """The follow-up to ask next, or moving on; the same rules for every engine."""
    ctx = ctx or Context()
    if ctx.used >= ctx.limit:
        return NextMove(action="move_on", reason="follow-up budget used")
    if off_topic is not None and REDIRECT_TARGET not in ctx.probed:
        redirect = _redirect(question, off_topic, ctx)
        if redirect is not None:
            return redirect
    gaps = list(_gaps(question, scores, missed, answer, non_answer, stages or [], stage_defs or []))
    deeper = [] if non_answer else _depth(question, probes or [], answer, ctx)
    strong = overall >= STRONG_OVERALL and not non_answer
    for option in [*deeper, *gaps] if strong else [*gaps, *deeper]:
        if option.target in ctx.probed:
            continue
        text = _wording(option, ctx)
        if text is None:
            continue
        return NextMove(
            action="follow_up",
            target=option.target,
            text=_referring(option, text, ctx),
            label=option.label,
            depth=option.depth,
        )
    return NextMove(action="move_on", reason="nothing left worth probing")


def _redirect(question: Question, off_topic: OffTopic, ctx: Context) -> NextMove | None:
    """Bring an answer to another problem back to the question asked, naming both."""
    texts = tuple(
        v.format(other=_short(off_topic.question), asked=question.question) for v in REDIRECT_VARIANTS
    )
    text = _wording(Option(REDIRECT_TARGET, texts, "the question asked"), ctx)
    if text is None:
        return None
    return NextMove(action="follow_up", target=REDIRECT_TARGET, text=text, label="the question asked")


def _short(question_text: str, words: int = 20) -> str:
    """A question, or its first words, quoted to name it in passing."""
    parts = question_text.split()
    if len(parts) <= words:
        return f'"{question_text.rstrip(".")}"'
    return '"' + " ".join(parts[:words]).rstrip(".,;:!?") + '..."'


def _depth(question: Question, probes: list[Probe], answer: str, ctx: Context) -> list[Option]:
    """Deeper probes in the order to ask them: the question's own before its track's; within
    each, those building on words the candidate used first, the rest in a per-session order."""
    own = {p.id for p in question.probes}
    options = [
        Option(
            f"probe:{p.id}", (p.text,), p.kind, True, anchor_phrase(p, ctx.latest or answer), not p.builds_on
        )
        for p in probes
    ]

    def rank(pair: tuple[Probe, Option]) -> tuple[bool, bool, int]:
        probe, option = pair
        return probe.id not in own, not option.anchor, _turn(ctx.seed, option.target) if ctx.seed else 0

    return [option for _, option in sorted(zip(probes, options, strict=True), key=rank)]


def anchor_phrase(probe: Probe, answer: str) -> str:
    """Up to eight words of the answer, verbatim, starting near the first word the probe builds on."""
    for sentence in sentences(answer):
        for word in probe.builds_on:
            hit = _word_start(word).search(sentence)
            if hit is None:
                continue
            starts = [m.start() for m in re.finditer(r"\S+", sentence)]
            at = max((i for i, st in enumerate(starts) if st <= hit.start()), default=0)
            first = starts[max(0, at - 3)]
            match = EXCERPT_WORDS.match(sentence, first)
            return match.group(0).rstrip(".,;:!?") if match else ""
    return ""


def _word_start(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(word), re.IGNORECASE)


def _turn(seed: str, target: str) -> int:
    return int(hashlib.sha256(f"{seed}:{target}".encode()).hexdigest(), 16)


def _gaps(
    question: Question,
    scores: dict[str, int],
    missed: list[str],
    answer: str,
    non_answer: bool,
    stages: list[StageStatus],
    stage_defs: list[DesignStage],
) -> Iterator[Option]:
    if non_answer:
        for tp in question.talking_points:
            yield Option(f"point:{tp.id}", (tp.follow_up,), tp.point)
        return
    clear_opening = opening_states_idea(answer)
    for dim in PRIORITY_DIMENSIONS:
        if scores.get(dim, 5) <= 2 and not (dim == "step_back" and clear_opening):
            yield Option(f"dimension:{dim}", DIMENSION_VARIANTS[dim], dim.replace("_", " "))
    # Missed points first, those of a design stage the answer has not reached ahead of the rest;
    # then the stages still missing; then the weakest dimension.
    points = [tp for tp in (question.talking_point(p) for p in missed) if tp is not None]
    by_id = {s.id: s for s in stage_defs}
    missing = [by_id[s.id] for s in stages if s.status == "missing" and s.id in by_id]
    steering = [tp for tp in points if any(_mentions(stage, tp.point) for stage in missing)]
    for tp in [*steering, *(tp for tp in points if tp not in steering)]:
        yield Option(f"point:{tp.id}", (tp.follow_up,), tp.point)
    for stage in missing:
        yield Option(f"stage:{stage.id}", (stage.probe,), stage.name)
    for dim in sorted(scores, key=lambda d: scores[d]):
        if scores[dim] <= 3 and not (dim == "step_back" and clear_opening):
            yield Option(f"dimension:{dim}", DIMENSION_VARIANTS[dim], dim.replace("_", " "))


def _mentions(stage: DesignStage, text: str) -> bool:
    return uses_a_cue(stage, text)


def _wording(option: Option, ctx: Context) -> str | None:
    """The first wording of the option not yet used this session, starting at a per-session
    rotation (so two sessions do not open with the same sentence)."""
    texts = option.texts
    start = _turn(ctx.seed, option.target) % len(texts) if ctx.seed else 0
    for i in range(len(texts)):
        text = texts[(start + i) % len(texts)]
        if not any(text in said for said in ctx.said):
            return text
    return None


def _referring(option: Option, text: str, ctx: Context) -> str:
    """Prefix a probe with the candidate's own words, quoted exactly, when they said something:
    the phrase it builds on, else their most specific sentence."""
    if not ctx.refer or not option.target.startswith(REFERRING_TARGETS):
        return text
    if option.anchor:
        return f'You said "{option.anchor}". {text}'
    if not option.quote_any:
        return text
    best = max(sentences(ctx.latest), key=lambda s: len(specific_words(s)), default="")
    if len(specific_words(best)) < 3:
        return text
    match = EXCERPT_WORDS.match(best)
    excerpt = match.group(0).rstrip(".,;:!?") if match else ""
    return f'You said "{excerpt}". {text}' if excerpt else text
