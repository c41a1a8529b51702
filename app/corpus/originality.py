"""Checks that our text shares no long run of words with a source article."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

RUN_LENGTH = 12
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def words(text: str) -> list[str]:
    """Lowercased word tokens, punctuation ignored."""
    return _WORD.findall(text.lower().replace("’", "'"))


def shingles(text: str, n: int = RUN_LENGTH) -> set[tuple[str, ...]]:
    """Every run of n consecutive words."""
    toks = words(text)
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def shared_runs(text: str, sources: Iterable[str], n: int = RUN_LENGTH) -> list[str]:
    """Runs of n words that appear both in text and in any source."""
    ours = shingles(text, n)
    found: set[tuple[str, ...]] = set()
    for source in sources:
        found |= ours & shingles(source, n)
    return sorted(" ".join(run) for run in found)


def main(argv: list[str]) -> int:
    """Usage: python -m app.corpus.originality SEEDS_DIR FILE..."""
    seeds = [p.read_text(encoding="utf-8") for p in sorted(Path(argv[0]).glob("*.txt"))]
    bad = 0
    for name in argv[1:]:
        for run in shared_runs(Path(name).read_text(encoding="utf-8"), seeds):
            print(f"{name}: shares with a seed: {run}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
