"""The `coach` command line. Errors become one line on stderr and a non-zero exit code."""

from __future__ import annotations

import argparse
import errno
import io
import ipaddress
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from app.config import Settings, load_settings
from app.corpus.models import DIFFICULTIES, TRACKS
from app.errors import CoachError, UserInputError

if TYPE_CHECKING:  # the services pull in models and stores: imported only once the input is checked
    from app.services import Services

Handler = Callable[[argparse.Namespace, "Services"], int]


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
    if not args.paths:  # and the users' uploads: a new embedding model's collection starts empty
        from app.store.documents import reingest_documents

        report = report.plus(
            reingest_documents(
                services.store,
                services.settings.data_dir,
                warn=lambda msg: print(f"warning: {msg}", file=sys.stderr),
            )
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
        raise UserInputError(services.store.empty_message())
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
    if args.answer_file != "-":
        return read_text_file(Path(args.answer_file), "answer file")
    raw = sys.stdin.buffer.read()
    if b"\x00" in raw[:8192]:
        raise UserInputError("standard input is binary, not an answer")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError("standard input is not UTF-8 text") from None


def cmd_feedback(args: argparse.Namespace, services: Services) -> int:
    """Score one answer and print the scorecard."""
    from app.scoring.scorecard import render_text

    answer = read_answer(args)
    if not answer.strip():
        raise UserInputError("the answer is empty: pass --answer TEXT, or a file with --answer-file")
    card = services.scorer(args.engine).score(
        answer,
        question_id=args.question_id,
        question_text=args.question,
        reference=args.reference,
        samples=args.samples,
    )
    if args.samples > 1 and card.engine == "offline" and not card.fallback_reason:
        print("note: the offline engine is deterministic; it judged once", file=sys.stderr)
    print(card.model_dump_json(indent=2) if args.json else render_text(card))
    return 0


def cmd_interview(args: argparse.Namespace, services: Services) -> int:
    """A mock interview in the terminal (or scripted from a file or a pipe)."""
    from app.interview_cli import run_interview

    if isinstance(sys.stdin, io.TextIOWrapper):  # piped bytes that are not UTF-8: refuse, never store
        sys.stdin.reconfigure(encoding="utf-8", errors="strict")
    try:
        return run_interview(args, services)
    except UnicodeDecodeError:
        raise UserInputError(
            "standard input is not UTF-8 text; the answers before it are saved (see `coach sessions list`)"
        ) from None


def cmd_sessions(args: argparse.Namespace, services: Services) -> int:
    """List, show or export past interview sessions."""
    from app.interview_cli import run_sessions

    return run_sessions(args, services)


def show_config(settings: Settings) -> int:
    """Show the settings in force (never the API key), then whether the data folder is usable."""
    for key, value in settings.describe().items():
        print(f"{key:<16} {value}")
    check_data_dir(settings.data_dir)
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


def read_new_password(from_stdin: bool) -> str:
    """A new password: one line of standard input (--password-stdin), or typed twice at a prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserInputError(
            "give the password on standard input with --password-stdin, or run in a terminal"
        )
    import getpass

    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise UserInputError("the two passwords differ; nothing was changed")
    return first


def cmd_users(args: argparse.Namespace, services: Services) -> int:
    """Accounts for `coach serve`: with any user, the app asks for a login and keeps each
    user's sessions apart; without users it serves one person, without a login."""
    from app.sessions.accounts import Accounts

    accounts = Accounts(services.session_db)
    command = args.users_command
    if command == "list":
        names = accounts.names()
        if not names:
            print("no users: `coach serve` runs for one person, without a login (`coach users add NAME`)")
        for name in names:
            print(name)
    elif command == "remove":
        accounts.remove(args.name)
        print(f"removed user {args.name}; their saved sessions are kept")
    elif command == "add":
        accounts.add(args.name, read_new_password(args.password_stdin))
        print(f"added user {args.name}")
    else:
        accounts.passwd(args.name, read_new_password(args.password_stdin))
        print(f"changed the password of {args.name}")
    return 0


def login_check(services: Services, host: str, insecure: bool) -> Callable[[str, str], bool] | None:
    """The login `coach serve` asks for: the users of the sessions database when there are any
    (each then sees only their own sessions), else COACH_AUTH's single user, else none."""
    from app.sessions.accounts import Accounts
    from app.ui.login import LoginThrottle

    accounts = Accounts(services.session_db)
    if accounts.any():
        if os.environ.get("COACH_AUTH", "").strip():
            raise UserInputError("set either COACH_AUTH or users (`coach users list`), not both")
        return LoginThrottle(accounts.verify)
    auth = serve_auth(host, insecure)
    return LoginThrottle({auth[0]: auth[1]}) if auth else None


def cmd_serve(args: argparse.Namespace, services: Services) -> int:
    """Serve the Gradio app (never with a public share link)."""
    check = login_check(services, args.host, args.insecure_no_auth)
    from app.ui.app import build_app, handlers_at_once, launch

    # The warm-up runs after the server listens (the page first): see launch.
    launch(
        build_app(services),
        host=args.host,
        port=args.port,
        auth=check,
        warm_up=services.warm_up,
        concurrency=handlers_at_once(services.settings.resolved_engine),
    )
    return 0


class CoachParser(argparse.ArgumentParser):
    """argparse whose mistakes read like every other error: one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def positive_int(raw: str) -> int:
    """A count of 1 or more: a limit of 0 or -1 would silently mean 'all' or 'all but one'."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def samples_count(raw: str) -> int:
    """Judgements per answer for self-consistency: 1 to MAX_SAMPLES."""
    from app.engines.consistency import MAX_SAMPLES

    value = positive_int(raw)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"at most {MAX_SAMPLES} samples, got {value}")
    return value


def port_number(raw: str) -> int:
    value = positive_int(raw)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {value}")
    return value


class StoreKinds:
    """The store's kinds as argparse choices, imported only when used (the store module loads Chroma)."""

    def _kinds(self) -> tuple[str, ...]:
        from app.store.vectors import KINDS

        return KINDS

    def __contains__(self, value: object) -> bool:
        return value in self._kinds()

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds())


def check_argv_text(argv: Sequence[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates, which no later step can print or hash."""
    for index, item in enumerate(argv):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            option, _, _ = item.partition("=")
            if not option.startswith("-") or option == item:
                option = argv[index - 1] if index and argv[index - 1].startswith("-") else ""
            named = f"the value of {option}" if option.startswith("-") else f"argument {index + 1}"
            raise UserInputError(
                f"{named} is not valid UTF-8 text: set your terminal to UTF-8, or pass the text in a file"
            ) from None


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file, or one line saying why it cannot be one."""
    if path.is_dir():
        raise UserInputError(f"{what} {path} is a folder, not a file")
    if not path.exists():
        raise UserInputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise UserInputError(f"{what} {path} is not a regular file (a device or a pipe); pass - for stdin")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise UserInputError(f"{what} {path} is a binary file, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"{what} {path} is not UTF-8 text") from None


def check_output_path(raw: str, option: str) -> None:
    """A file we will write later: refuse now what would fail then (after a whole interview)."""
    path = Path(raw)
    if path.is_dir():
        raise UserInputError(f"{option} {path} is a folder: give a file name inside it")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise UserInputError(f"{option} {path}: {parent} is a file, not a folder")
    if not parent.is_dir():
        raise UserInputError(f"{option} {path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserInputError(f"{option} {path}: cannot write there (read-only or no permission)")


def check_paths(args: argparse.Namespace) -> None:
    """Files named on the command line, checked before any work starts."""
    if getattr(args, "focus_file", None):
        read_text_file(Path(args.focus_file), "--focus-file")
    if getattr(args, "answers_file", None):
        read_text_file(Path(args.answers_file), "--answers-file")
    if getattr(args, "transcript_out", None):
        check_output_path(args.transcript_out, "--transcript-out")
    if getattr(args, "out", None):
        check_output_path(args.out, "--out")
    precheck = getattr(args, "precheck", None)
    if precheck is not None:
        precheck(args)


def check_data_dir(path: Path) -> None:
    """The data folder exists (made if needed) and takes writes; otherwise one line naming it."""
    where = f"COACH_DATA_DIR {path}"
    if path.exists() and not path.is_dir():
        raise UserInputError(f"{where} is a file, not a folder: point COACH_DATA_DIR at a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserInputError(
            f"{where} cannot be created: a part of that path is a file; point COACH_DATA_DIR at a folder"
        ) from None
    except OSError as err:
        raise UserInputError(f"{where} cannot be created ({err.strerror}); choose another folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserInputError(f"{where} is read-only: point COACH_DATA_DIR at a folder you can write to")


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _path_of(value: object) -> str | None:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, sqlite3.Connection):
        try:
            return str(value.execute("PRAGMA database_list").fetchone()[2]) or None
        except sqlite3.Error:  # a closed or broken connection: look further out
            return None
    return None


def _file_written(tb: TracebackType | None, settings: Settings | None) -> str:
    """The file a failed write was for. sqlite errors, and writes after open(), name none: take the
    innermost frame holding a path or a database connection (as a local, or on its `self`)."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        owner = frame.f_locals.get("self")
        candidates = [*frame.f_locals.values()] + [
            getattr(owner, name, None) for name in ("path", "_conn", "conn")
        ]
        for candidate in candidates:
            found = _path_of(candidate)
            if found:
                return found
    return str(settings.data_dir) if settings else "the data folder"


def _no_space_left(where: str) -> bool:
    """sqlite reports a full disk as 'disk I/O error' when its WAL index cannot grow: ask the disk."""
    folder = Path(where)
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def _is_full(err: BaseException) -> bool:
    if isinstance(err, OSError):
        return err.errno == errno.ENOSPC
    return isinstance(err, sqlite3.Error) and (
        getattr(err, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(err)
    )


def storage_failure(err: BaseException, settings: Settings | None) -> CoachError | None:
    """A failed write in words. A full disk hides behind sqlite's 'cannot rollback' error, so the
    whole chain of causes is searched; the file is named even when the error does not name it."""
    chain = list(_chain(err))
    cause = next((c for c in chain if _is_full(c)), None) or next(
        (c for c in chain if isinstance(c, OSError | sqlite3.Error)), None
    )
    if cause is None:
        return None
    filename = getattr(cause, "filename", None)
    where = str(filename) if filename else _file_written(cause.__traceback__ or err.__traceback__, settings)
    if _is_full(cause) or _no_space_left(where):
        return CoachError(f"the disk is full: could not write {where}; free some space and try again")
    if isinstance(cause, OSError):
        return CoachError(f"could not use {where}: {cause.strerror or cause}")
    return CoachError(f"could not use {where}: {cause}")


def cmd_llm_local(args: argparse.Namespace, services: Services) -> int:
    """Serve the small local model (installed by `make llm-local`) on a loopback port."""
    from app.engines.local_model import default_cache_dir, run

    if not _is_loopback(args.host):
        raise UserInputError(
            f"the local model server has no authentication: serve it on 127.0.0.1, not {args.host}"
        )
    return run(args.host, args.port, args.threads, default_cache_dir(services.settings))


def build_parser() -> argparse.ArgumentParser:
    parser = CoachParser(prog="coach", description="MLE Interview Coach")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest the corpus or your documents into the store")
    p.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    p.add_argument("--kind", choices=["guide", "document"], help="kind for Markdown/text files")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("search", help="semantic search over the store")
    p.add_argument("query")
    p.add_argument("--k", type=positive_int, default=5)
    p.add_argument("--track", choices=TRACKS)
    p.add_argument("--kind", choices=StoreKinds(), metavar="KIND", help="one of: %(choices)s")
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
    p.add_argument(
        "--samples",
        type=samples_count,
        default=1,
        help="judge the answer N times (LLM engine, temperature 0.8): median score, spread, "
        "and dimensions whose samples disagree by 2+ marked low confidence",
    )
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
    lst.add_argument("--limit", type=positive_int, default=20)
    shw = ssub.add_parser("show", help="a session's transcript")
    shw.add_argument("id")
    exp = ssub.add_parser("export", help="export a transcript")
    exp.add_argument("id")
    exp.add_argument("--format", choices=["md", "json"], default="md")
    exp.add_argument("--out", help="file to write (default: print)")
    p.set_defaults(handler=cmd_sessions)

    p = sub.add_parser("users", help="accounts for `coach serve` (a login, sessions kept apart)")
    usub = p.add_subparsers(dest="users_command", required=True)
    usub.add_parser("list", help="user names")
    for name, text in (("add", "add a user"), ("passwd", "change a user's password")):
        cmd = usub.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
    usub.add_parser("remove", help="remove a user's login (their sessions are kept)").add_argument("name")
    p.set_defaults(handler=cmd_users)

    from app.evaluation.command import add_parser as add_eval_parser

    add_eval_parser(sub)

    p = sub.add_parser("config", help="show the settings in force")
    p.set_defaults(handler=None)

    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=7860)
    p.add_argument("--insecure-no-auth", action="store_true", help="allow a non-loopback host without auth")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("llm-local", help="serve the small local test model (see `make llm-local`)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=8080)
    p.add_argument("--threads", type=positive_int, help="CPU threads (default: up to 2)")
    p.set_defaults(handler=cmd_llm_local)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coach` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    settings: Settings | None = None
    try:
        check_argv_text(argv)
        args = build_parser().parse_args(argv)
        settings = load_settings()
        if args.handler is None:
            return show_config(settings)
        check_paths(args)
        check_data_dir(settings.data_dir)
        from app.services import build_services

        return int(args.handler(args, build_services(settings)))
    except CoachError as err:
        return report(err)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`coach feedback ... | head`): stop quietly, as other CLIs do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (OSError, sqlite3.Error) as err:
        failure = storage_failure(err, settings)
        if failure is None:
            raise
        return report(failure)


def report(err: CoachError) -> int:
    print(f"error: {err}", file=sys.stderr)
    return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
