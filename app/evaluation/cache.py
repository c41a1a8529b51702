"""An on-disk cache of model calls, keyed by engine, model, prompt version and inputs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from app.engines.types import (
    Assessed,
    Assessment,
    AssessRequest,
    EngineName,
    ModelSeam,
    Phrased,
    PhraseRequest,
    RunInfo,
)


class CachedEngine:
    """Wraps an engine: an assessment already made for the same inputs is read from disk."""

    def __init__(self, engine: ModelSeam, folder: Path, prompt_version: str | None = None) -> None:
        self.engine = engine
        self.name: EngineName = engine.name
        self.folder = folder
        self.prompt_version = prompt_version
        self.hits = 0
        self.misses = 0
        self.cost_usd = 0.0  # spent on the calls this run made (cache hits cost nothing)
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def _key(self, request: AssessRequest) -> str:
        model = getattr(self.engine, "model", None)
        weights = getattr(getattr(self.engine, "weights", None), "id", None)
        # The judge prompt in effect (the latest one when none is pinned), so a new prompt version
        # never reuses the old one's answers.
        prompt = getattr(self.engine, "judge_prompt_id", None) or self.prompt_version
        parts = [
            self.name,
            model,
            prompt,
            weights,
            request.rubric.id,
            request.question.id,
            request.answer,
            request.reference,
            *([request.samples] if request.samples > 1 else []),
        ]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()

    def assess(self, request: AssessRequest) -> Assessed:
        path = self.folder / f"{self._key(request)}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            with self._lock:
                self.hits += 1
            return Assessed(
                Assessment.model_validate(data["assessment"]), RunInfo.model_validate(data["run"])
            )
        result = self.engine.assess(request)
        with self._lock:
            self.misses += 1
            self.cost_usd += result.run.cost_usd
        if not result.run.fallback_reason:  # a fallback is not what the model said: never cached
            payload = {"assessment": result.assessment.model_dump(), "run": result.run.model_dump()}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            tmp.replace(path)
        return result

    def phrase(self, request: PhraseRequest) -> Phrased:
        return self.engine.phrase(request)

    def stream_phrase(self, request: PhraseRequest) -> Iterator[str | Phrased]:
        return self.engine.stream_phrase(request)
