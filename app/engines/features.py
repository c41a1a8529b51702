"""Text features of an answer for the offline engine: sentences, cues, non-answers, coverage."""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.corpus.models import Question
from app.engines.coverage import HEDGE, PointMatch, QuestionVectors, content_words, match_points, point_texts
from app.store.embeddings import DIMENSION as DIM
from app.store.embeddings import embed
from app.store.vector_cache import VectorCache

# A sentence ends at . ! or ? before a capital, a digit, a quote, a bracket or a tag (so markup
# pasted after a sentence does not glue the next one to it), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[<]?[A-Z0-9<])|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)?%?")
_TAGS = re.compile(r"<[^>]{0,200}>")

# Instructions aimed at the grader. Each pattern needs the grader (or a score for this answer) as
# its object: ordinary prose that contains "system:", "assistant:", "ignore" or "score" is an answer.
_GRADE_WORDS = (
    r"(5|five|10|ten|full|perfect|top|maximum|max|highest|high|best|excellent|100)"
    r"( ?(/|out of) ?(5|five|10|ten))?( (marks?|scores?|grades?|points?|ratings?))?"
)
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+|previous\s+|prior\s+"
    r"|above\s+|earlier\s+|these\s+|those\s+|other\s+|grading\s+|scoring\s+)*"
    r"(instructions?|rubric|prompts?|criteria)\b"
    r"|\b(ignore|disregard|forget|override|bypass)\s+(all\s+|the\s+)?(your|previous|prior|above|earlier"
    r"|grading|scoring|marking)\s+(rules|guidelines)\b"
    rf"|\b(give|award|assign|grant)\s+(me|this( answer| response)?|my answer|the candidate|it)\s+"
    rf"(a |an |the )?{_GRADE_WORDS}\b"
    rf"|\b(score|rate|grade|mark)\s+(me|this( answer| response)?|my answer|it)\b.{{0,25}}\b{_GRADE_WORDS}\b"
    r"|\b(deserves?|earns?|merits?|should (get|receive|score))\s+(a |an |the )?"
    r"(5|five|10|full marks|a perfect)"
    # A role prefix ("System:") is an injection only when what follows addresses the grader.
    r"|^\W*(system|assistant|developer|grader|evaluator)\s*:.*(\byou (must|are|will|should|shall)\b"
    r"|\b(instructions?|rubric)\b|\b5 ?/ ?5\b|\b(give|award|assign|output|respond with|return)\b.{0,40}"
    r"\b(scores?|grades?|marks?|ratings?|5|five|10)\b)"
    r"|\byou are now (an?|the|in|acting|my)\b|\b(new|updated|real) instructions\b|\bdeveloper mode\b"
    r"|\b(dear|hey|attention|note to( the)?) (grader|evaluator|scorer|ai|model|llm|assistant)\b",
    re.IGNORECASE | re.DOTALL,
)
IDK = re.compile(
    r"^\W*(i\s+(really\s+)?(don'?t|do not|dunno)\s+know|not sure|no idea|pass|skip|idk|"
    r"i have no (idea|clue)|can'?t answer|no clue|i'?m not sure)\b",
    re.IGNORECASE,
)
HIGH_LEVEL = re.compile(
    r"\b(at a high level|high[- ]level|big picture|in short|in a nutshell"
    r"|the (core |key |main )?idea"
    r"|the goal (is|here)|my approach|the approach|overall|in summary|to summari[sz]e|"
    r"the short answer|essentially|fundamentally|i(?:'d| would) (build|treat|frame|design|start)"
    r"|this is (a|an|really)|think of it as|step back|short version|in one (line|sentence)"
    r"|in a sentence|the gist|headline|the answer is|two (different )?(kinds|parts|halves|pieces"
    r"|stages|problems|failures|questions)|three (kinds|parts|stages|pieces)|i'?d split"
    r"|comes down to|boils down to|the heart of|the shape|my starting point|the way i (think|see)"
    r"|the idea is|the trick is|the key (is|insight|point)|start from|what (it|this) shows"
    r"|the point of|the real (problem|question|goal)|two problems|two things)\b",
    re.IGNORECASE,
)
ROADMAP = re.compile(
    r"\b(i'?ll (cover|walk|go|start|talk)|let me (walk|cover|start|go)|first[, ]|then[, ]|"
    r"finally|three (parts|things|steps)|two (parts|things)|next,|after that|starting with)\b",
    re.IGNORECASE,
)
# Hedges and fillers that open a rambling answer instead of its idea ("Yeah so, good question").
OPENING_FILLER = re.compile(
    r"\b(yeah|yes so|so,|well,|good question|great question|hmm+|let me think|honestly|i think|"
    r"i guess|maybe|probably|wait|actually|kind of|sort of|you know|basically|like,|stuff|i mean|"
    r"um+|uh+|ok so|okay so|right, so|this is a really)\b",
    re.IGNORECASE,
)
BUSINESS = re.compile(
    r"\b(revenue|profit|cost|costs|money|dollars?|customers?|users?|retention|churn|conversion|"
    r"engagement|sales|business|roi|kpi|sla|margin|losses|fraud losses|satisfaction|nps|"
    r"click[- ]through|ctr|subscribers?|signups?|growth|savings?|saved|budget|time to|"
    r"stakeholders?|product|outcome|impact|team hours|hours|per day|per week|per month|"
    r"complaints|tickets|latency|p99|p95|throughput)\b",
    re.IGNORECASE,
)
OUTCOME = re.compile(
    r"\b(revenue|profit|costs?|money|dollars?|customers?|retention|churn|conversion|sales|roi|kpi|"
    r"margin|losses|satisfaction|nps|ctr|click[- ]through|engagement|sign[- ]?ups?|growth|"
    r"savings?|saved|save|budget|complaints|tickets|business|stakeholders?|outcomes?|impact|"
    r"users? (?:see|get|wait|churn|leave|stay|return)|hours|on-call|incidents?|fraud losses|"
    r"chargebacks?|subscribers?|bookings?|orders?|watch time|sessions per)\b|\$",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(\$\s?\d|\d+(\.\d+)?\s?(%|percent|ms|x\b|k\b|m\b|hours?|days?|weeks?)|\b\d{2,})")
TRADEOFF = re.compile(
    r"\b(trade[- ]?offs?|instead of|rather than|alternative(ly|s)?|versus|vs\.?|on the other hand|"
    r"downside|upside|at the cost of|in exchange|compared (to|with)|pros and cons|whereas|but it|"
    r"cheaper|simpler|more expensive|slower|faster|the catch|the risk|i chose|i'?d choose|i picked|"
    r"i'?d pick|i'?d rather|i prefer|would rather|instead|depends on|"
    r"tension|the cost (is|of)|at the expense|worth (it|the)|in return|"
    r"gives up|give up|sacrific\w*|more robust|less accurate|more accurate|too (slow|expensive|"
    r"complex|costly))\b",
    re.IGNORECASE,
)
# A weighed choice (the rubric's anchor for trade-offs): one sentence that names an alternative
# and gives a reason for the choice or what it costs.
ALTERNATIVE = re.compile(
    r"\b(instead of|rather than|alternatives?|versus|vs\.?|compared (to|with)|"
    r"(prefer|chose|choose|pick|picked|favou?r)\w*\b[^.]{0,40}\bover|"
    r"i chose|i'?d choose|i picked|i'?d pick|i'?d rather|i prefer|would rather|another option|"
    r"considered)\b",
    re.IGNORECASE,
)
REASON_OR_COST = re.compile(
    r"\b(because|since|so that|which means|that way|cheaper|simpler|faster|easier|more robust|"
    r"more accurate|trade[- ]?offs?|downside|drawback|the cost (is|of)|at the cost of|"
    r"at the expense|the catch|the risk|gives? up|sacrific\w*|less (accurate|well|flexible)|"
    r"worse|slower|more expensive)\b",
    re.IGNORECASE,
)
# Two options set against each other: a comparative, a concession or a price paid.
CONTRAST = re.compile(
    r"\b(\w+er than|more \w+ than|less \w+ than|but|however|although|though|while|whereas|yet|"
    r"at the cost of|at the expense of|the price (is|of)|in exchange|costs? (us|more|less)|we lose|"
    r"you lose|lose|losing|hurts?|worse|better for|better at|only if|unless|as long as|"
    r"the downside|the upside|on the other hand|otherwise)\b",
    re.IGNORECASE,
)
# A measure a business reads: a rate, a count per unit, money or time.
METRIC = re.compile(
    r"\b(rate|rates|ratio|share|per (session|user|day|week|month|order|request|click)|conversion|"
    r"retention|revenue|churn|ctr|click[- ]through|minutes|hours|seconds|days|dollars?|cost per|"
    r"precision|recall at|p\d\d|latency|complaints|tickets|refunds?|chargebacks?|bookings?|"
    r"orders?|sales|margin|nps|watch time|sessions?)\b|%|\$\s?\d",
    re.IGNORECASE,
)
GOAL = re.compile(
    r"\b(the goal|so that|in order to|the point is|the aim|we want|to (cut|reduce|increase|raise|keep)|"
    r"so (people|users|customers|we|they|it|the business|that))\b",
    re.I,
)
BENEFICIARY = re.compile(
    r"\b(users?|customers?|shoppers?|buyers?|sellers?|merchants?|drivers?|riders?|viewers?|readers?|"
    r"advertisers?|creators?|patients?|clinicians?|doctors?|agents?|analysts?|engineers?|teams?|"
    r"recruiters?|candidates?|members?|subscribers?|listeners?|students?|operators?|reviewers?|"
    r"moderators?|partners?|clients?|stakeholders?|the business|the company|finance|ops|support)\b",
    re.IGNORECASE,
)
# How a win would be confirmed in production, and what each kind of error costs (rubric anchor 5).
CONFIRM = re.compile(
    r"\b(a/?b test|a/?b|holdout|hold-out|experiment|online (test|metric)|canary|guardrails?|control group|"
    r"randomi[sz]ed)\b",
    re.IGNORECASE,
)
ERROR_COST = re.compile(
    r"\b(false (positives?|negatives?|alarms?|declines?)|missed \w+ (costs?|means)|costs? (us|the business)|"
    r"wrongly|each (miss|mistake|error)|more expensive than|cheaper than missing|the expensive mistake)\b",
    re.IGNORECASE,
)
# Sentences that explain: a reason, a purpose, a condition or a mechanism.
EXPLAINING = re.compile(
    r"\b(because|since|so that|which means|that way|in order to|to avoid|otherwise|if|when|unless|"
    r"by (?:[a-z]+ing)|instead of|rather than)\b",
    re.IGNORECASE,
)
# A sentence needs this many specific words (beyond cue words) to count for business value or
# trade-offs, and this similarity to the question (or to its business case) to be "tied to this
# problem" (measured: own business case 0.55-0.6, another problem's 0.2-0.4).
SPECIFIC_MIN_WORDS = 3
TIED_TO_QUESTION = 0.2
TIED_TO_VALUE = 0.45
FILLER = re.compile(
    r"\b(um+|uh+|like,|you know|basically|kind of|sort of|i mean|stuff|things like that|"
    r"whatever|and so on|etc|anyway|actually|literally|so yeah)\b",
    re.IGNORECASE,
)
STRUCTURE = re.compile(
    r"\b(first(ly)?|second(ly)?|third(ly)?|then|next|finally|to summari[sz]e|in summary|"
    r"step \d|\d\))",
    re.IGNORECASE,
)
JARGON = re.compile(
    r"\b([A-Z]{2,}[A-Za-z0-9]*|[A-Za-z]+[A-Z][A-Za-z]*|xgboost|lightgbm|pytorch|tensorflow|keras|"
    r"kafka|spark|flink|redis|kubernetes|k8s|docker|airflow|mlflow|dvc|faiss|hnsw|onnx|"
    r"embeddings?|transformers?|bert|lstm|cnn|softmax|relu|adam|sgd|dropout|l[12]|auc|"
    r"f1|ndcg|smote|shap|tf-?idf|word2vec|sagemaker|bigquery|snowflake|feast)\b"
)


# Code and configuration in prose: calls, assignments, dotted or snake_case names, CamelCase.
CODE = re.compile(
    r"\w+\(|\w=|=\w| = |\b\w+\.\w+\b|\b[a-z]+_[a-z_]+\b|\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b|\d"
)


def visible_text(answer: str) -> str:
    """Answer with HTML tags removed and entities decoded (what a reader takes in)."""
    return html.unescape(_TAGS.sub(" ", answer))


def sentences(text: str) -> list[str]:
    """Sentence-ish spans, each an exact substring of text."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_sentences(answer: str) -> tuple[list[str], list[str]]:
    """(sentences that count, injection sentences that earn nothing)."""
    kept: list[str] = []
    injected: list[str] = []
    for sentence in sentences(answer):
        (injected if INJECTION.search(sentence) else kept).append(sentence)
    return kept, injected


@lru_cache(maxsize=1)
def _vocab() -> frozenset[str]:
    import json

    from app.store.embeddings import model_files

    data = json.loads(model_files()[1].read_text(encoding="utf-8"))
    return frozenset(k for k in data["model"]["vocab"] if k.isalpha())


def known_word_share(text: str) -> float:
    """Share of alphabetic words that are whole words of the model's vocabulary."""
    alpha = [w.lower().strip("'’-") for w in words(text) if w[0].isalpha()]
    if not alpha:
        return 0.0
    vocab = _vocab()
    return sum(1 for w in alpha if w in vocab) / len(alpha)


def cosine_matrix(a: list[str], b: list[str]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    vectors = embed(a + b)
    return np.asarray(vectors[: len(a)] @ vectors[len(a) :].T)


def unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.clip(norms, 1e-12, None)


# Fixed corpus texts (talking points, strong answers, references) and answer sentences are
# embedded once: a follow-up re-scores the answer so far without re-embedding what was said.
CORPUS_VECTORS = VectorCache()
SENTENCE_VECTORS = VectorCache(capacity=20_000)


def use_vector_cache(path: Path) -> None:
    """Keep corpus-text vectors on disk (under the data dir) across processes."""
    global CORPUS_VECTORS
    if CORPUS_VECTORS.path != path:
        CORPUS_VECTORS = VectorCache(path, autosave_s=30.0)


def prefetch_answers(answers: list[str]) -> None:
    """Embed many answers' sentences in large batches up front (datasets): far fewer model runs."""
    texts: list[str] = []
    for answer in answers:
        spans, _ = content_sentences(answer)
        texts += [visible_text(s).strip() or " " for s in spans] or [" "]
    SENTENCE_VECTORS.embed(list(dict.fromkeys(texts)))


def target_vectors(texts: tuple[str, ...]) -> np.ndarray:
    """Embeddings of a question's fixed texts."""
    return CORPUS_VECTORS.embed(list(texts))


def question_targets(question: Question, reference: str | None = None) -> tuple[str, ...]:
    """The fixed texts an answer to this question is compared with (embedded once, cached)."""
    return (
        *[f"{tp.point} {tp.follow_up}" for tp in question.talking_points],
        question.question,
        reference or question.strong_answer.as_text(),
        question.strong_answer.summary,
        question.strong_answer.business_value,
        *[text for tp in question.talking_points for texts in point_texts(tp) for text in texts],
        *question.red_flags,
    )


@dataclass(frozen=True)
class QuestionTargets:
    """A question's fixed texts as vectors, by role."""

    question: np.ndarray
    reference: np.ndarray
    summary: np.ndarray
    business_value: np.ndarray
    points: QuestionVectors


def question_vectors(question: Question, reference: str | None = None) -> QuestionTargets:
    fixed = target_vectors(question_targets(question, reference))
    k = len(question.talking_points)
    groups: list[list[np.ndarray]] = [[], []]  # states, names only
    at = k + 4
    for tp in question.talking_points:
        for group, texts in zip(groups, point_texts(tp), strict=True):
            group.append(fixed[at : at + len(texts)])
            at += len(texts)
    states, names = groups
    points = QuestionVectors(states=states, names=names, point=fixed[:k], red_flags=fixed[at:])
    return QuestionTargets(fixed[k], fixed[k + 1], fixed[k + 2], fixed[k + 3], points)


def vectors_are_stale() -> bool:
    """The corpus-vector file on disk was written by another embedding model (an upgrade)."""
    return CORPUS_VECTORS.stale


def warm_vectors(questions: list[Question]) -> int:
    """Embed every question's fixed texts now (at ingest) and persist them; returns the count."""
    texts = [t for q in questions for t in question_targets(q)]
    CORPUS_VECTORS.embed(texts)
    CORPUS_VECTORS.save()
    CORPUS_VECTORS.stale = False
    return len(texts)


def span_vectors(spans: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence vectors, sentence-pair window vectors, whole-answer vector).

    Windows and the whole answer are the normalised sums of their sentence vectors: one
    model run per sentence instead of re-embedding every longer span.
    """
    if not spans:
        zero = np.zeros((1, DIM), dtype=np.float32)
        return zero, zero[:0], zero[0]
    sent = SENTENCE_VECTORS.embed(spans)
    pairs = unit(sent[:-1] + sent[1:]) if len(spans) > 1 else sent[:0]
    whole = unit(sent.sum(axis=0))
    return sent, pairs, whole


@dataclass
class AnswerFeatures:
    """Everything the offline scorer needs, computed once per answer."""

    spans: list[str]
    injected: list[str]
    word_count: int
    points: dict[str, PointMatch]
    relevance: float
    question_sim: float
    reference_sim: float
    known_words: float
    features: dict[str, float]
    repeated: int = 0
    evidence: dict[str, list[str]] = field(default_factory=dict)
    # The answer's meaning as vectors, for the fitted probes: its opening, and the whole answer.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # One row per sentence (its vector, its cues, its position) for the fitted sentence models.
    sentence_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def point_sims(self) -> dict[str, float]:
        return {pid: m.similarity for pid, m in self.points.items()}

    @property
    def point_best_span(self) -> dict[str, str]:
        return {pid: m.span for pid, m in self.points.items()}


def weighed_choices(spans: list[str]) -> list[str]:
    """Sentences that name an alternative and give a reason for the choice or its cost."""
    return [s for s in spans if ALTERNATIVE.search(s) and REASON_OR_COST.search(s)][:3]


def _rate(pattern: re.Pattern[str], text: str, per_words: int) -> float:
    n = max(1, per_words)
    return len(pattern.findall(text)) / n * 100


def unique_spans(spans: list[str]) -> tuple[list[str], int]:
    """Sentences with repeats removed (a sentence said twice counts once), and how many went."""
    seen: set[str] = set()
    kept = []
    for span in spans:
        key = " ".join(_WORD.findall(visible_text(span).lower()))
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(span)
    return kept, len(spans) - len(kept)


# Words that carry no topic of their own: cue words of the rubric and generic qualities. A sentence
# made only of these ("Trade-off: latency versus accuracy because cost.") is a cue, not a thought.
GENERIC = frozenset(
    (
        "trade tradeoff tradeoffs off offs latency accuracy cost costs because versus high level "
        "business value revenue retention impact users user customers customer performance quality "
        "speed scalability scale complexity simple simpler cheaper faster better worse more less "
        "alternative alternatives approach option options choice choose chose would could rather "
        "instead model models system data important key main good great really overall think "
        "basically important goal goals metric metrics engagement growth efficiency value "
        # Spelled with a hyphen, ordinals that only order a list, contractions and sizes with
        # nothing sized: "First, I'd think about the trade-offs; the impact is big" says nothing.
        "trade-off trade-offs first second third next finally i'd we'd i'll we'll i'm big huge "
        "thing things"
    ).split()
)


def specific_words(text: str) -> set[str]:
    """Content words of a sentence that are not rubric cue words or generic qualities."""
    return {w for w in content_words(text) if w not in GENERIC}


def is_specific(sentence: str) -> bool:
    """Says something beyond cue words ("Trade-off: latency versus accuracy because cost." does not)."""
    return len(specific_words(sentence)) >= SPECIFIC_MIN_WORDS


# A line of code (a definition, an import, an assignment, a fence): an opening made of it states
# no idea in words (the rubric's step-back anchor 1: "the first sentence is already ... a line of
# code"). On the dev splits all 8 answers whose first sentence is one are labelled step back 1.
CODE_LINE = re.compile(
    r"^\s*(```|(class|def|import|from|for|while|if|return|with|SELECT|WITH|CREATE|INSERT)\b[^.!?]*$|"
    r"[\w.\[\]]+\s*(=|\+=|-=)\s*\S)"
)


def idea_words(opening: str) -> int:
    """Specific words of an opening once its step-back cue phrases are taken out: what it says
    beyond "at a high level, the big picture is the goal, in short ..." (that says nothing)."""
    for cue in (HIGH_LEVEL, ROADMAP, GOAL):
        opening = cue.sub(" ", opening)
    return len(specific_words(opening))


def opening_features(spans: list[str], sent: np.ndarray) -> dict[str, float]:
    """How the answer opens, judged on the answer alone (the question plays no part)."""
    opening = " ".join(spans[:2])
    first = spans[0] if spans else ""
    # Does the opening sum up what follows? (For a short answer, the first sentence and the rest.)
    head = 2 if len(spans) > 3 else 1
    rest = sent[head:]
    gist = float(unit(sent[:head].sum(axis=0)) @ unit(rest.sum(axis=0))) if len(rest) else 0.5
    return {
        "opening_high_level": 1.0 if HIGH_LEVEL.search(opening) else 0.0,
        "opening_roadmap": 1.0 if ROADMAP.search(" ".join(spans[:3])) else 0.0,
        "opening_reason": 1.0 if REASON_OR_COST.search(opening) or GOAL.search(opening) else 0.0,
        "opening_gist": gist,
        "first_jargon": _rate(JARGON, first, len(words(first))),
        "opening_filler": _rate(OPENING_FILLER, opening, len(words(opening))),
        "first_words": float(np.log1p(len(words(first)))),
        "first_code": _rate(CODE, first, len(words(first))),
        "opening_specific": float(min(8, len(specific_words(opening)))),
        "opening_idea_words": float(idea_words(" ".join(s for s in spans[:2] if not CODE_LINE.search(s)))),
        **opening_relation(spans, sent),
    }


def _first_at(patterns: tuple[re.Pattern[str], ...], text: str) -> int:
    """Where the earliest match of any pattern starts (the text's length when none matches)."""
    starts = [m.start() for p in patterns if (m := p.search(text))]
    return min(starts, default=len(text))


def opening_relation(spans: list[str], sent: np.ndarray) -> dict[str, float]:
    """Does the opening carry the answer's idea: is it as central to the answer as the sentences
    after it (a detail-first opening is not), and does it frame the goal before any tool, number
    or code?"""
    opening = " ".join(spans[:2])
    n = len(spans)
    centrality = 0.0
    if n > 1:
        total = sent[:n].sum(axis=0)
        central = np.array([float(unit(total - sent[i]) @ sent[i]) for i in range(n)])
        centrality = float(central[0] - central[1:].mean())
    frame = _first_at((GOAL, HIGH_LEVEL, OUTCOME), opening)
    detail = _first_at((JARGON, CODE, NUMBER), opening)
    return {
        "opening_centrality": centrality,
        "frame_before_detail": 1.0 if frame < detail else 0.0,
    }


def delivery_features(spans: list[str], text: str, repeated: int) -> dict[str, float]:
    """Clarity cues, judged on the answer alone."""
    toks = words(text)
    n = len(toks)
    sent_lengths = [len(words(s)) for s in spans] or [0]
    trigrams = [tuple(toks[i : i + 3]) for i in range(max(0, n - 2))]
    return {
        "filler_rate": _rate(FILLER, text, n),
        "hedge_rate": _rate(HEDGE, text, n),
        "jargon_rate": _rate(JARGON, text, n),
        "comma_rate": _rate(re.compile(","), text, n),
        "structure_count": min(6.0, float(len(STRUCTURE.findall(text)))),
        "mean_sentence_words": float(np.mean(sent_lengths)),
        "long_sentence_share": float(np.mean([x > 35 for x in sent_lengths])),
        "repetition": 1 - (len(set(trigrams)) / len(trigrams)) if trigrams else 0.0,
        "repeated_sentences": float(min(5, repeated)),
        "explained_rate": _rate(EXPLAINING, text, n),
        "log_words": float(np.log1p(n)),
        # Length up to 60 words only: a one-line reply says little, but past that, length is not
        # a sign of a better opening (the rubric: do not reward length).
        "log_words_60": float(np.log1p(min(n, 60))),
        "over_length": max(0.0, (n - 400) / 100),
    }


def business_sentences(spans: list[str], sent: np.ndarray, target: QuestionTargets) -> list[int]:
    """Sentences that name an outcome in words specific to this problem, most business-like first."""
    value_sim = sent @ target.business_value
    topical = (sent @ target.question >= TIED_TO_QUESTION) | (value_sim >= TIED_TO_VALUE)
    tied = [i for i, s in enumerate(spans) if OUTCOME.search(s) and is_specific(s) and topical[i]]
    return sorted(tied, key=lambda i: -(value_sim[i] + 0.2 * bool(NUMBER.search(spans[i]))))


def _specific_count(pattern: re.Pattern[str], spans: list[str], cap: int) -> float:
    """Sentences with specific content that match a cue (a bare cue sentence counts for nothing)."""
    return float(min(cap, sum(1 for s in spans if pattern.search(s) and is_specific(s))))


def business_features(spans: list[str], sent: np.ndarray, target: QuestionTargets) -> dict[str, float]:
    """Who benefits and by how much, counted only in sentences specific to this problem."""
    tied = business_sentences(spans, sent, target)
    generic = sum(1 for i, s in enumerate(spans) if OUTCOME.search(s) and i not in tied)
    return {
        "business_sim": float((sent @ target.business_value).max()),
        "business_sentences": min(4.0, float(len(tied))),
        "business_quantified": min(3.0, float(sum(1 for i in tied if NUMBER.search(spans[i])))),
        "business_beneficiary": min(3.0, float(sum(1 for i in tied if BENEFICIARY.search(spans[i])))),
        "business_generic": min(3.0, float(generic)),
        "business_confirm": _specific_count(CONFIRM, spans, 2),
        "business_error_cost": _specific_count(ERROR_COST, spans, 2),
    }


def tradeoff_sentences(spans: list[str]) -> list[str]:
    """Weighed choices first, then other alternatives, among sentences with specific content."""
    specific = [s for s in spans if is_specific(s)]
    named = [s for s in specific if ALTERNATIVE.search(s)]
    return list(dict.fromkeys(weighed_choices(specific) + named))


def tradeoff_features(spans: list[str]) -> dict[str, float]:
    """Alternatives weighed with a reason or cost, in sentences that say something specific."""
    specific = [s for s in spans if is_specific(s)]
    return {
        "weighed_choices": float(len(weighed_choices(specific))),
        "tradeoff_count": min(6.0, float(sum(len(TRADEOFF.findall(s)) for s in specific))),
        "alternatives": min(4.0, float(sum(1 for s in specific if ALTERNATIVE.search(s)))),
        "contrast_choices": float(min(3, len(contrast_choices(specific)))),
        "option_then_cost": float(min(3, options_then_costs(spans))),
    }


def contrast_choices(specific: list[str]) -> list[str]:
    """Sentences that set two options against each other (a comparative, "but", a price paid)
    while naming an alternative or a reason: weighing done without the usual trade-off words."""
    return [s for s in specific if CONTRAST.search(s) and (ALTERNATIVE.search(s) or REASON_OR_COST.search(s))]


def options_then_costs(spans: list[str]) -> int:
    """An alternative named in one sentence and its cost or reason given in the next."""
    return sum(
        1
        for option, cost in zip(spans, spans[1:], strict=False)
        if ALTERNATIVE.search(option)
        and (REASON_OR_COST.search(cost) or CONTRAST.search(cost))
        and is_specific(cost)
    )


SENTENCE_CUES: tuple[re.Pattern[str], ...] = ()  # filled below, once every pattern exists


@lru_cache(maxsize=8192)
def _cue_row(sentence: str) -> tuple[float, ...]:
    """Which rubric cues a sentence has; none unless it is specific (decided once per sentence).
    Remembered: a follow-up answer is scored together with the answer before it, whose
    sentences would otherwise be searched again (14 patterns each) on every follow-up."""
    if not is_specific(sentence):
        return (0.0,) * len(SENTENCE_CUES)
    return tuple(1.0 if p.search(sentence) else 0.0 for p in SENTENCE_CUES)


def sentence_rows(spans: list[str], sent: np.ndarray) -> np.ndarray:
    """Per sentence: its embedding, which rubric cues it has (only if it is specific), its place."""
    cues = np.array([_cue_row(s) for s in spans], dtype=np.float32)
    place = np.array([[min(i, 4) / 4] for i in range(len(spans))], dtype=np.float32)
    return np.hstack([sent[: len(spans)], cues.reshape(len(spans), -1), place])


def carriers(spans: list[str], sent: np.ndarray, target: QuestionTargets) -> dict[str, list[str]]:
    """Per dimension, the sentences that carry it: what a scorecard may quote as its evidence."""
    opening = spans[0] if spans else ""
    states_idea = HIGH_LEVEL.search(opening) or GOAL.search(opening) or REASON_OR_COST.search(opening)
    return {
        "step_back": [opening] if states_idea and is_specific(opening) else [],
        "business_value": [spans[i] for i in business_sentences(spans, sent, target)],
        "tradeoffs": tradeoff_sentences(spans),
        "clarity": [s for s in spans if STRUCTURE.search(s) and is_specific(s)],
    }


_EXTRACTED: OrderedDict[tuple[object, ...], AnswerFeatures] = OrderedDict()
_EXTRACTED_LOCK = threading.Lock()
EXTRACT_CACHE_SIZE = 32


def extract(question: Question, answer: str, reference: str | None = None) -> AnswerFeatures:
    """Features of an answer to a bank question, computed once: the engine and the app's honesty
    rules read the same features of one answer (treat the result as read-only)."""
    key = (question.id, question.question, tuple(tp.id for tp in question.talking_points), answer, reference)
    with _EXTRACTED_LOCK:
        hit = _EXTRACTED.get(key)
        if hit is not None:
            _EXTRACTED.move_to_end(key)
            return hit
    feats = _extract(question, answer, reference)
    with _EXTRACTED_LOCK:
        _EXTRACTED[key] = feats
        while len(_EXTRACTED) > EXTRACT_CACHE_SIZE:
            _EXTRACTED.popitem(last=False)
    return feats


def forget_extracted() -> None:
    """Drop the remembered features (a benchmark that must compute every answer afresh)."""
    with _EXTRACTED_LOCK:
        _EXTRACTED.clear()
    _cue_row.cache_clear()


def _extract(question: Question, answer: str, reference: str | None = None) -> AnswerFeatures:
    """Features of an answer to a bank question (reference: optional model answer)."""
    # Spans stay exact substrings of the answer (they are quoted as evidence); features and
    # embeddings read the visible text, with any HTML tags removed. Repeats count once.
    all_spans, injected = content_sentences(answer)
    spans, repeated = unique_spans(all_spans)
    seen = [visible_text(s).strip() or " " for s in spans]
    text = visible_text(" ".join(spans))
    n = len(words(text))
    target = question_vectors(question, reference)
    sent, pairs, whole_vec = span_vectors(seen if spans else [])
    points = match_points(question, spans, target.points, np.vstack([sent, pairs])) if spans else {}
    question_sim, reference_sim = float(target.question @ whole_vec), float(target.reference @ whole_vec)
    f = {
        **opening_features(spans, sent),
        **delivery_features(spans, text, repeated),
        **business_features(spans, sent, target),
        **tradeoff_features(spans),
        "reference_sim": reference_sim,
        "question_sim": question_sim,
        "red_flag_sim": next(iter(points.values())).features["red_flag_sim"] if points else 0.0,
    }
    relevance = max(question_sim, reference_sim, max((m.similarity for m in points.values()), default=0.0))
    return AnswerFeatures(
        spans=spans,
        injected=injected,
        word_count=n,
        points=points,
        relevance=relevance,
        question_sim=question_sim,
        reference_sim=reference_sim,
        known_words=known_word_share(text),
        features=f,
        repeated=repeated,
        evidence=carriers(spans, sent, target) if spans else {},
        vectors={
            "opening": unit(sent[:2].sum(axis=0)),
            "answer": whole_vec,
        },
        sentence_rows=sentence_rows(spans, sent) if spans else np.zeros((0, DIM + len(SENTENCE_CUES) + 1)),
    )


# An answer whose words are nearly all the question's own is the question copied back (the
# embedding alone misses it for questions of several sentences).
COPIED = 0.85


def copied_share(answer: str, question: str) -> float:
    """Share of the answer's words that are words of the question."""
    asked = {w.lower() for w in words(question)}
    said = [w.lower() for w in words(answer)]
    return sum(w in asked for w in said) / len(said) if said else 0.0


def non_answer_reason(feats: AnswerFeatures, question: Question, thresholds: dict[str, float]) -> str | None:
    """Why this is not an answer at all, or None when it is one."""
    text = " ".join(feats.spans)
    if not text.strip():
        return "empty" if not feats.injected else "only an instruction to the grader"
    if IDK.search(text) and feats.word_count <= thresholds["idk_max_words"]:
        return "says it does not know"
    if feats.word_count <= thresholds["min_words"]:
        return "too short to be an answer"
    if feats.known_words < thresholds["min_known_word_share"]:
        return "gibberish"
    q_words = len(words(question.question))
    copied = (
        feats.question_sim >= thresholds["copy_similarity"] or copied_share(text, question.question) >= COPIED
    )
    if copied and feats.word_count <= 1.6 * q_words + 5:
        return "repeats the question"
    if feats.relevance < thresholds["min_relevance"]:
        return "off topic"
    return None


SENTENCE_CUES = (
    HIGH_LEVEL,
    ROADMAP,
    GOAL,
    OUTCOME,
    BENEFICIARY,
    NUMBER,
    CONFIRM,
    ERROR_COST,
    ALTERNATIVE,
    REASON_OR_COST,
    TRADEOFF,
    CODE,
    CONTRAST,
    METRIC,
)
