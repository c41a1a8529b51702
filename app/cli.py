"""The `coach` command line. Errors become one line on stderr and a non-zero exit code."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.config import load_settings
from app.corpus.models import DIFFICULTIES, TRACKS
from app.errors import CoachError, UserInputError
from app.services import Services, build_services
from app.store.vectors import KINDS

Handler = Callable[[argparse.Namespace, Services], int]


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _bank_files(services: Services) -> dict[str, Path]:
    """The bank's question ids and their files (none when the bank itself is broken: ingest
    then reports each bad file)."""
    try:
        return dict(services.bank.files)
    except CoachError:
        return {}


def cmd_ingest(args: argparse.Namespace, services: Services) -> int:
    """Ingest the corpus (or given files and folders) into the store."""
    from app.store.ingest import ingest

    paths = [Path(p) for p in args.paths] or [services.settings.corpus_dir]
    report = ingest(
        services.store,
        paths,
        kind=args.kind,
        warn=lambda msg: print(f"warning: {msg}", file=sys.stderr),
        progress=sys.stderr.isatty(),
        reserved=_bank_files(services),
    )
    print(report.summary())
    if not args.paths:
        from app.engines.features import warm_vectors

        warm_vectors(list(services.bank.questions.values()))
    return 0


def cmd_search(args: argparse.Namespace, services: Services) -> int:
    """Semantic search over the store."""
    query = args.query.strip()
    if not query:
        raise UserInputError("the search query is empty")
    if services.store.count() == 0:
        raise UserInputError("the store is empty: run `coach ingest` first")
    hits = services.store.search(query, k=args.k, track=args.track, kind=args.kind)
    if args.json:
        _print_json([{"id": h.id, "score": h.score, "text": h.text, **h.metadata} for h in hits])
        return 0
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, 1):
        meta = hit.metadata
        label = meta.get("question_id") or meta.get("title") or hit.id
        print(f"{rank}. [{hit.score:.3f}] {meta.get('kind')} {meta.get('track', '')} {label}")
        print(f"   {hit.text.splitlines()[0][:160]}")
        print(f"   source: {hit.source}")
    return 0


def cmd_corpus(args: argparse.Namespace, services: Services) -> int:
    """Validate the corpus, or print counts by track and difficulty."""
    from app.corpus.loader import check_corpus

    if args.corpus_command == "check":
        problems = check_corpus(services.settings.corpus_dir)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print(f"corpus check failed: {len(problems)} problems", file=sys.stderr)
            return 1
        bank = services.bank
        print(f"corpus ok: {len(bank.questions)} questions, rubric {services.rubric.id}")
        return 0
    stats = services.bank.stats()
    if args.json:
        _print_json(stats)
        return 0
    print(f"{'track':<20}" + "".join(f"{d:>8}" for d in (*DIFFICULTIES, "total")))
    for track, row in stats.items():
        print(f"{track:<20}" + "".join(f"{row[d]:>8}" for d in (*DIFFICULTIES, "total")))
    print(f"{'all':<20}{'':>24}{sum(r['total'] for r in stats.values()):>8}")
    return 0


def read_answer(args: argparse.Namespace) -> str:
    """The answer from --answer, --answer-file or stdin ('-'), as UTF-8 text."""
    if args.answer is not None:
        return str(args.answer)
    if args.answer_file == "-":
        raw = sys.stdin.buffer.read()
        source = "standard input"
    else:
        path = Path(args.answer_file)
        if not path.is_file():
            raise UserInputError(f"no such answer file: {path}")
        raw = path.read_bytes()
        source = str(path)
    if b"\x00" in raw[:8192]:
        raise UserInputError(f"{source} is a binary file, not an answer")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"{source} is not UTF-8 text") from None


def cmd_feedback(args: argparse.Namespace, services: Services) -> int:
    """Score one answer and print the scorecard."""
    from app.scoring.scorecard import render_text

    answer = read_answer(args)
    card = services.scorer(args.engine).score(
        answer,
        question_id=args.question_id,
        question_text=args.question,
        reference=args.reference,
    )
    print(card.model_dump_json(indent=2) if args.json else render_text(card))
    return 0


def cmd_interview(args: argparse.Namespace, services: Services) -> int:
    """A mock interview in the terminal (or scripted from a file or a pipe)."""
    from app.interview_cli import run_interview

    return run_interview(args, services)


def cmd_sessions(args: argparse.Namespace, services: Services) -> int:
    """List, show or export past interview sessions."""
    from app.interview_cli import run_sessions

    return run_sessions(args, services)


def cmd_config(args: argparse.Namespace, services: Services) -> int:
    """Show the settings in force (never the API key)."""
    for key, value in services.settings.describe().items():
        print(f"{key:<16} {value}")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_auth(host: str, insecure: bool) -> tuple[str, str] | None:
    """Gradio auth from COACH_AUTH; required off loopback unless explicitly waived."""
    raw = os.environ.get("COACH_AUTH", "").strip()
    if raw:
        user, sep, password = raw.partition(":")
        if not sep or not user or not password:
            raise UserInputError("COACH_AUTH must look like user:password")
        return (user, password)
    if not _is_loopback(host) and not insecure:
        raise UserInputError(
            f"serving on {host} exposes the app: set COACH_AUTH=user:pass or pass --insecure-no-auth"
        )
    return None


def cmd_serve(args: argparse.Namespace, services: Services) -> int:
    """Serve the Gradio app (never with a public share link)."""
    auth = serve_auth(args.host, args.insecure_no_auth)
    from app.ui.app import build_app, launch

    services.warm_up()
    launch(build_app(services), host=args.host, port=args.port, auth=auth)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="MLE Interview Coach")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest the corpus or your documents into the store")
    p.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    p.add_argument("--kind", choices=["guide", "document"], help="kind for Markdown/text files")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("search", help="semantic search over the store")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--track", choices=TRACKS)
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("corpus", help="check the corpus or print its statistics")
    csub = p.add_subparsers(dest="corpus_command", required=True)
    csub.add_parser("check", help="validate every corpus file")
    stats = csub.add_parser("stats", help="counts by track and difficulty")
    stats.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_corpus, json=False)

    p = sub.add_parser("feedback", help="score a pasted answer")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--question-id", help="a bank question id (see `coach search`)")
    which.add_argument("--question", help="the question as free text (closest bank question)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--answer", help="the answer text")
    given.add_argument("--answer-file", help="a UTF-8 file with the answer, or - for stdin")
    p.add_argument("--reference", help="a reference answer to compare content with")
    p.add_argument("--engine", choices=["offline", "llm", "auto"])
    p.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    p.set_defaults(handler=cmd_feedback)

    p = sub.add_parser("interview", help="a mock interview in the terminal")
    p.add_argument("--track", choices=TRACKS)
    p.add_argument("--difficulty", choices=DIFFICULTIES)
    p.add_argument("--questions", type=int, default=3)
    p.add_argument("--follow-ups", type=int, default=2)
    p.add_argument("--engine", choices=["offline", "llm", "auto"])
    p.add_argument("--focus-file", help="a job description or notes to focus the questions")
    p.add_argument("--answers-file", help="answers separated by lines holding only ---")
    p.add_argument("--transcript-out", help="write the transcript (.json or .md)")
    p.add_argument("--resume", metavar="SESSION_ID", help="continue an unfinished session")
    p.set_defaults(handler=cmd_interview)

    p = sub.add_parser("sessions", help="past interview sessions")
    ssub = p.add_subparsers(dest="sessions_command", required=True)
    lst = ssub.add_parser("list", help="recent sessions")
    lst.add_argument("--limit", type=int, default=20)
    shw = ssub.add_parser("show", help="a session's transcript")
    shw.add_argument("id")
    exp = ssub.add_parser("export", help="export a transcript")
    exp.add_argument("id")
    exp.add_argument("--format", choices=["md", "json"], default="md")
    exp.add_argument("--out", help="file to write (default: print)")
    p.set_defaults(handler=cmd_sessions)

    from app.evaluation.command import add_parser as add_eval_parser

    add_eval_parser(sub)

    p = sub.add_parser("config", help="show the settings in force")
    p.set_defaults(handler=cmd_config)

    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--insecure-no-auth", action="store_true", help="allow a non-loopback host without auth")
    p.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coach` console script."""
    args = build_parser().parse_args(argv)
    try:
        services = build_services(load_settings())
        return int(args.handler(args, services))
    except CoachError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`coach feedback ... | head`): stop quietly, as other CLIs do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
