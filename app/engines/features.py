"""Text features of an answer for the offline engine: sentences, cues, non-answers, coverage."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.corpus.models import Question
from app.store.embeddings import DIMENSION as DIM
from app.store.embeddings import embed
from app.store.vector_cache import VectorCache

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)?%?")
_TAGS = re.compile(r"<[^>]{0,200}>")

INJECTION = re.compile(
    r"ignore (all |any |the |previous |prior |your )*(instructions|rubric|rules|above)"
    r"|give (me|this( answer)?) (a )?(5|five|full marks|top score|perfect)"
    r"|(score|rate|grade) (me|this)( answer)? (as |a )?(5|five|perfect)"
    r"|\b5\s*/\s*5\b|\bsystem\s*:|\bassistant\s*:|you are now|new instructions"
    r"|disregard (the |all |previous )*(instructions|rubric)",
    re.IGNORECASE,
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
    r"|comes down to|boils down to|the heart of)\b",
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
    r"i'?d pick|i'?d rather|i prefer|would rather|over (a|an|the) |instead|unless|depends on|"
    r"balance|tension|the cost (is|of)|at the expense|worth (it|the)|otherwise|in return|"
    r"gives up|give up|sacrific\w*|more robust|less accurate|more accurate|too (slow|expensive|"
    r"complex|costly))\b",
    re.IGNORECASE,
)
# A weighed choice (the rubric's anchor for trade-offs): one sentence that names an alternative
# and gives a reason for the choice or what it costs.
ALTERNATIVE = re.compile(
    r"\b(instead of|rather than|alternatives?|versus|vs\.?|compared (to|with)|over (a|an|the)|"
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
        CORPUS_VECTORS = VectorCache(path)


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
    """The fixed texts an answer to this question is compared with."""
    return (
        *[f"{tp.point} {tp.follow_up}" for tp in question.talking_points],
        question.question,
        reference or question.strong_answer.as_text(),
        question.strong_answer.summary,
        question.strong_answer.business_value,
    )


def warm_vectors(questions: list[Question]) -> int:
    """Embed every question's fixed texts now (at ingest) and persist them; returns the count."""
    texts = [t for q in questions for t in question_targets(q)]
    CORPUS_VECTORS.embed(texts)
    CORPUS_VECTORS.save()
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
    point_sims: dict[str, float]
    point_best_span: dict[str, str]
    relevance: float
    question_sim: float
    reference_sim: float
    opening_summary_sim: float
    known_words: float
    features: dict[str, float]


def weighed_choices(spans: list[str]) -> list[str]:
    """Sentences that name an alternative and give a reason for the choice or its cost."""
    return [s for s in spans if ALTERNATIVE.search(s) and REASON_OR_COST.search(s)][:3]


def _rate(pattern: re.Pattern[str], text: str, per_words: int) -> float:
    n = max(1, per_words)
    return len(pattern.findall(text)) / n * 100


def extract(question: Question, answer: str, reference: str | None = None) -> AnswerFeatures:
    """Features of an answer to a bank question (reference: optional model answer)."""
    # Spans stay exact substrings of the answer (they are quoted as evidence); features and
    # embeddings read the visible text, with any HTML tags removed.
    spans, injected = content_sentences(answer)
    seen = [visible_text(s).strip() or " " for s in spans]
    text = visible_text(" ".join(spans))
    toks = words(text)
    n = len(toks)
    points = question.talking_points
    k = len(points)
    fixed = target_vectors(question_targets(question, reference))
    sent, pairs, whole_vec = span_vectors(seen if spans else [])
    wins = (spans + [" ".join(spans[i : i + 2]) for i in range(len(spans) - 1)]) or [" "]
    win_vecs = np.vstack([sent, pairs])
    sims = win_vecs @ fixed[:k].T
    point_sims = {tp.id: float(sims[:, i].max()) for i, tp in enumerate(points)}
    point_best = {tp.id: wins[int(sims[:, i].argmax())] for i, tp in enumerate(points)}
    whole = fixed[k:] @ whole_vec
    opening_vec = unit(sent[:2].sum(axis=0))
    open_sims = np.array([fixed[k + 2] @ opening_vec, fixed[k] @ opening_vec])
    opening = " ".join(spans[:2])
    first = spans[0] if spans else ""
    sent_lengths = [len(words(s)) for s in spans] or [0]
    trigrams = [tuple(toks[i : i + 3]) for i in range(max(0, n - 2))]
    repetition = 1 - (len(set(trigrams)) / len(trigrams)) if trigrams else 0.0
    sorted_points = sorted(point_sims.values(), reverse=True)
    f = {
        "coverage_mean": float(np.mean(sorted_points)) if sorted_points else 0.0,
        "coverage_top_half": float(np.mean(sorted_points[: max(1, k // 2)])) if k else 0.0,
        "reference_sim": float(whole[1]),
        "question_sim": float(whole[0]),
        "opening_summary_sim": float(open_sims[0]),
        "opening_question_sim": float(open_sims[1]),
        "opening_high_level": 1.0 if HIGH_LEVEL.search(opening) else 0.0,
        "opening_roadmap": 1.0 if ROADMAP.search(" ".join(spans[:3])) else 0.0,
        "first_jargon": _rate(JARGON, first, len(words(first))),
        "opening_filler": _rate(OPENING_FILLER, opening, len(words(opening))),
        "business_rate": _rate(BUSINESS, text, n),
        "business_numbers": min(5.0, float(len(NUMBER.findall(text)))),
        "business_sim": float((sent @ fixed[k + 3]).max()),
        "business_sentences": min(4.0, float(sum(1 for s in spans if OUTCOME.search(s)))),
        "business_quantified": min(
            3.0, float(sum(1 for s in spans if OUTCOME.search(s) and NUMBER.search(s)))
        ),
        "tradeoff_count": min(6.0, float(len(TRADEOFF.findall(text)))),
        "weighed_choices": float(len(weighed_choices(spans))),
        "filler_rate": _rate(FILLER, text, n),
        "jargon_rate": _rate(JARGON, text, n),
        "structure_count": min(6.0, float(len(STRUCTURE.findall(text)))),
        "mean_sentence_words": float(np.mean(sent_lengths)),
        "long_sentence_share": float(np.mean([x > 35 for x in sent_lengths])),
        "repetition": repetition,
        "log_words": float(np.log1p(n)),
        "over_length": max(0.0, (n - 400) / 100),
    }
    relevance = max(float(whole[0]), float(whole[1]), max(point_sims.values(), default=0.0))
    return AnswerFeatures(
        spans=spans,
        injected=injected,
        word_count=n,
        point_sims=point_sims,
        point_best_span=point_best,
        relevance=relevance,
        question_sim=float(whole[0]),
        reference_sim=float(whole[1]),
        opening_summary_sim=float(open_sims[0]),
        known_words=known_word_share(text),
        features=f,
    )


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
    if feats.question_sim >= thresholds["copy_similarity"] and feats.word_count <= 1.6 * q_words + 5:
        return "repeats the question"
    if feats.relevance < thresholds["min_relevance"]:
        return "off topic"
    return None
