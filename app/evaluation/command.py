"""`coach eval`: exit 0 when the suite passes, 1 when a threshold fails, 2 on bad input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.corpus.models import DIMENSIONS
from app.errors import UserInputError
from app.evaluation.dataset import Columns, load_dataset, parse_scale, parse_where
from app.evaluation.report import compare_markdown, dataset_markdown, suite_markdown, write_reports
from app.evaluation.suite import load_suite

if TYPE_CHECKING:  # models and stores load only after the inputs are checked (check_inputs)
    from app.evaluation.cache import CachedEngine
    from app.scoring.scorer import Scorer
    from app.services import Services

DIMENSION_CHOICES = ("overall", "content", *DIMENSIONS)
CONTENT_NOTE = (
    "note: --reference-col with the default --against overall measures communication; "
    "--against content measures correctness against the reference"
)


def build_scorer(
    services: Services, engine: str, prompt_version: str | None, samples: int = 1
) -> tuple[Scorer, CachedEngine]:
    from app.engines.factory import make_engine
    from app.evaluation.cache import CachedEngine
    from app.scoring.scorer import Scorer

    seam = make_engine(services.settings, engine, judge_prompt=prompt_version)
    cached = CachedEngine(seam, services.settings.cache_dir / "eval-calls", prompt_version)
    store = services._store_if_ready()
    return Scorer(cached, services.bank, services.rubric, store, samples=samples), cached


def stats(cached: CachedEngine) -> Any:
    def read() -> tuple[int, int, float]:
        return cached.misses, cached.hits, round(cached.cost_usd, 6)

    return read


def run_suite_file(
    args: argparse.Namespace, services: Services, engine: str, prompt: str | None
) -> dict[str, Any]:
    from app.evaluation.runner import run_suite

    suite, answers = load_suite(Path(args.suite))
    scorer, cached = build_scorer(services, engine, prompt, args.samples)
    suite = suite.model_copy(update={"engine": engine, "prompt_version": prompt})
    report = run_suite(suite, answers, scorer, args.concurrency, sys.stderr.isatty(), stats(cached))
    return report.as_dict()


def simulate_command(args: argparse.Namespace, services: Services) -> int:
    from app.evaluation.simulate import simulate

    result = simulate(services.interviews(args.engine or "offline"), questions=args.questions)
    lines = ["# Simulated candidates", "", "| persona | mean overall |", "|---|---|"]
    lines += [f"| {p} | {m} |" for p, m in result["personas"].items()]
    lines += ["", f"**{'PASS' if result['passed'] else 'FAIL'}**"]
    lines += [f"- {p}: {'; '.join(v[:3])}" for p, v in result["problems"].items()]
    lines += [f"- {o}" for o in result["ordering_problems"]]
    text = "\n".join(lines) + "\n"
    paths = write_reports("simulated-candidates", result, text, False)
    print(json.dumps(result) if args.json else text)
    print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0 if result["passed"] else 1


def eval_command(args: argparse.Namespace, services: Services) -> int:
    if args.simulate:
        return simulate_command(args, services)
    if args.dataset:
        return dataset_command(args, services)
    if not args.suite:
        raise UserInputError("give a suite file, or --dataset FILE")
    suite, _ = load_suite(Path(args.suite))
    if args.compare:
        a, b = (side(services, args, value, suite.engine, suite.prompt_version) for value in args.compare)
        text = compare_markdown(a, b, *args.compare)
        paths = write_reports(f"{suite.name}-compare", {"a": a, "b": b}, text, args.html)
        print(json.dumps({"a": a["score"], "b": b["score"]}) if args.json else text)
        print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
        return 0 if a["passed"] and b["passed"] else 1
    engine = args.engine or suite.engine
    report = run_suite_file(args, services, engine, args.prompt_version or suite.prompt_version)
    text = suite_markdown(report)
    paths = write_reports(suite.name, report, text, args.html)
    print(
        json.dumps({k: report[k] for k in ("suite", "score", "passed", "threshold", "model_calls")})
        if args.json
        else text
    )
    print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0 if report["passed"] else 1


def side(
    services: Services, args: argparse.Namespace, value: str, engine: str, prompt: str | None
) -> dict[str, Any]:
    """A compare side is an engine name (offline|llm) or a prompt version."""
    if value in ("offline", "llm"):
        return run_suite_file(args, services, value, prompt)
    return run_suite_file(args, services, args.engine or "llm", value)


def dataset_columns(args: argparse.Namespace) -> Columns:
    if not (
        args.answer_col
        and args.label_col
        and (args.question_col or args.question_id_col or args.against == "content")
    ):
        raise UserInputError(
            "--dataset needs --answer-col, --label-col and --question-col (or --question-id-col)"
        )
    if args.against not in DIMENSION_CHOICES:
        raise UserInputError(f"--against must be one of {', '.join(DIMENSION_CHOICES)}")
    return Columns(
        args.question_col or "", args.answer_col, args.label_col, args.reference_col, args.question_id_col
    )


def check_inputs(args: argparse.Namespace) -> None:
    """Every check of the suite or dataset that needs no model, before one is loaded."""
    if args.simulate:
        return
    if args.dataset:
        args.against_given = args.against is not None
        args.against = args.against or "overall"
        columns = dataset_columns(args)
        scale = parse_scale(args.label_scale)
        where = parse_where(args.where)
        args.dataset_rows = load_dataset(Path(args.dataset), columns, scale, args.limit, where)
    elif args.suite:
        load_suite(Path(args.suite))
    else:
        raise UserInputError("give a suite file, or --dataset FILE")


def dataset_command(args: argparse.Namespace, services: Services) -> int:
    from app.evaluation.dataset import evaluate_rows

    if args.against is None:
        args.against_given, args.against = False, "overall"
    if args.reference_col and not getattr(args, "against_given", True):
        print(CONTENT_NOTE, file=sys.stderr)
    columns = dataset_columns(args)
    scale = parse_scale(args.label_scale)
    rows = getattr(args, "dataset_rows", None)
    if rows is None:
        rows = load_dataset(Path(args.dataset), columns, scale, args.limit, parse_where(args.where))
    if args.compare:
        return dataset_compare(args, services, rows, columns, scale)
    scorer, _ = build_scorer(services, args.engine or "offline", args.prompt_version, args.samples)
    report = {
        "dataset": str(args.dataset),
        **evaluate_rows(scorer, rows, columns, scale, args.against, args.concurrency, progress=True),
    }
    text = dataset_markdown(report)
    paths = write_reports(Path(args.dataset).stem, report, text, args.html)
    print(json.dumps(report["metrics"]) if args.json else text)
    print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def dataset_compare(
    args: argparse.Namespace,
    services: Services,
    rows: list[Any],
    columns: Columns,
    scale: tuple[float, float],
) -> int:
    """The same labelled rows scored by two engines or two judge prompt versions."""
    from app.evaluation.dataset import evaluate_rows
    from app.evaluation.report import dataset_compare_markdown

    reports = []
    for value in args.compare:
        engine, prompt = (value, args.prompt_version) if value in ("offline", "llm") else ("llm", value)
        scorer, _ = build_scorer(services, engine, prompt, args.samples)
        evaluated = evaluate_rows(scorer, rows, columns, scale, args.against, args.concurrency, progress=True)
        reports.append({"dataset": str(args.dataset), "side": value, **evaluated})
    text = dataset_compare_markdown(reports[0], reports[1])
    stem = f"{Path(args.dataset).stem}-compare"
    paths = write_reports(stem, {"a": reports[0], "b": reports[1]}, text, args.html)
    print(json.dumps({r["side"]: r["metrics"] for r in reports}) if args.json else text)
    print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    from app.cli import positive_int, samples_count

    p = sub.add_parser("eval", help="run an eval suite or a labelled dataset")
    p.add_argument("suite", nargs="?", help="a suite YAML file (e.g. evals/suites/feedback.smoke.v1.yaml)")
    p.add_argument("--dataset", help="a labelled .csv or .jsonl file")
    p.add_argument("--question-col")
    p.add_argument("--question-id-col", help="a column of bank question ids (instead of --question-col)")
    p.add_argument("--answer-col")
    p.add_argument("--reference-col")
    p.add_argument("--label-col")
    p.add_argument("--label-scale", default="1:5", help="MIN:MAX of the labels (default 1:5)")
    p.add_argument("--against", help="overall (default), content, or a rubric dimension")
    p.add_argument("--limit", type=positive_int, help="score only the first N rows")
    p.add_argument(
        "--where",
        action="append",
        metavar="COL=VALUE",
        help="only rows whose column has this value (repeatable)",
    )
    p.add_argument("--engine", choices=["offline", "llm"])
    p.add_argument("--prompt-version", help="e.g. scorer.judge.v1 (LLM engine)")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two engines or two prompt versions")
    p.add_argument("--concurrency", type=positive_int, default=4)
    p.add_argument(
        "--samples",
        type=samples_count,
        default=1,
        help="judge each answer N times (LLM engine, temperature 0.8) and report the median and spread",
    )
    p.add_argument("--simulate", action="store_true", help="interview scripted candidate personas end to end")
    p.add_argument("--questions", type=positive_int, default=2, help="questions per simulated interview")
    p.add_argument("--html", action="store_true", help="also write an HTML report with a calibration plot")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=eval_command, precheck=check_inputs)
