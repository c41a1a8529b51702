"""Validate one question-bank or rubric file: python -m app.corpus.validate_file FILE..."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.corpus.models import QuestionFile, Rubric


def main(argv: list[str]) -> int:
    status = 0
    for name in argv:
        data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
        model = Rubric if "rubric" in name else QuestionFile
        try:
            parsed = model.model_validate(data)
        except ValidationError as err:
            print(f"{name}: INVALID\n{err}")
            status = 1
            continue
        count = len(getattr(parsed, "questions", getattr(parsed, "dimensions", [])))
        print(f"{name}: ok ({count} items)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
