"""The design-stage map: which stages of an ML design interview an answer covered, with quotes."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from app.corpus.loader import load_interviewer_file
from app.corpus.models import DesignStage, InterviewerFile, Probe
from app.engines.coverage import list_like
from app.engines.features import is_specific, sentences
from app.scoring.scorecard import StageStatus

INTERVIEWER_FILE = Path("interviewer") / "interviewer.yaml"
QUOTE_MAX_CHARS = 200
# A sentence that only names topics ("features, a model like XGBoost, some monitoring, that kind
# of thing") reaches a stage's words without stating anything about it: such a stage is touched.
BARE_LIST_SHARE = 0.4
VAGUE = re.compile(r"\b(that kind of thing|stuff|etc|and so on|whatever|all that|and more)\b", re.IGNORECASE)
EMPTY = InterviewerFile.model_construct(version="interviewer.v0", stages={}, depth_probes={})


@lru_cache(maxsize=8)
def load_interviewer(corpus_dir: Path) -> InterviewerFile:
    """The interviewer's corpus data (stages, depth probes); empty when the corpus has none."""
    path = corpus_dir / INTERVIEWER_FILE
    if not path.exists():
        return EMPTY
    return load_interviewer_file(path)


@lru_cache(maxsize=256)
def _cue_pattern(cue: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(cue), re.IGNORECASE)


@lru_cache(maxsize=64)
def _any_cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """One search for "does the text use any of these cues" (same matches as one search per cue)."""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(cue) for cue in cues) + ")", re.IGNORECASE)


def uses_a_cue(stage: DesignStage, text: str) -> bool:
    """Whether the text uses any of the stage's cues."""
    return bool(stage.cues) and bool(_any_cue_pattern(tuple(stage.cues)).search(text))


def stage_cues(stage: DesignStage, text: str) -> list[str]:
    """The stage's cues that the text uses."""
    if not uses_a_cue(stage, text):
        return []
    return [cue for cue in stage.cues if _cue_pattern(cue).search(text)]


def bare(sentence: str) -> bool:
    """Names topics without stating anything: mostly short list items, vague filler, or nothing
    beyond rubric cue words ("At a high level, the business value is revenue and retention.")."""
    return list_like(sentence) >= BARE_LIST_SHARE or bool(VAGUE.search(sentence)) or not is_specific(sentence)


def stage_map(stages: list[DesignStage], answer: str, version: str) -> list[StageStatus]:
    """Each stage covered (two or more of its cues, at least one in a sentence that states
    something rather than listing topics), touched (a cue) or missing, quoting the first sentence
    of the answer that reached it, a stating one first (verbatim)."""
    spans = sentences(answer)
    result = []
    for stage in stages:
        used = stage_cues(stage, answer)
        reaching = [s for s in spans if uses_a_cue(stage, s)]
        stating = [s for s in reaching if not bare(s)]
        status: Literal["covered", "touched", "missing"] = (
            "covered" if len(used) >= 2 and stating else "touched" if used else "missing"
        )
        quote = next(iter(stating or reaching), "")[:QUOTE_MAX_CHARS].strip()
        result.append(StageStatus(id=stage.id, name=stage.name, status=status, quote=quote, version=version))
    return result


def depth_probes(data: InterviewerFile, track: str, own: list[Probe]) -> list[Probe]:
    """A question's own depth probes first, then its track's."""
    return [*own, *data.depth_probes.get(track, [])]  # type: ignore[call-overload]
