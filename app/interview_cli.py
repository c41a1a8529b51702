"""Terminal front end of the interviewer: interactive, or scripted from a file or a pipe."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from app.corpus.loader import QuestionBank
from app.errors import UserInputError
from app.interview.plan import COMMANDS, InterviewConfig
from app.scoring.scorecard import SessionSummary, model_answer
from app.services import Services
from app.sessions.service import InterviewSessions, Step
from app.sessions.transcripts import export

SEPARATOR = "---"
PROMPT = (
    "(end your answer with a line '---' or two empty lines; "
    "hint, repeat, skip, end or retry typed alone runs at once)"
)


def answers_from_lines(lines: Iterator[str], blank_ends: bool) -> Iterator[str]:
    """Answers separated by a line holding only '---'.

    Typed at a terminal (blank_ends), two empty lines in a row also end an answer (one empty line
    is a paragraph break, kept), and a command alone on the first line of an answer is sent at once.
    """
    buffer: list[str] = []
    blanks = 0
    for raw in lines:
        line = raw.rstrip("\n")
        stripped = line.strip()
        if stripped == SEPARATOR:
            yield "\n".join(buffer).strip()
            buffer, blanks = [], 0
        elif blank_ends and not buffer and stripped.lower() in COMMANDS:
            yield stripped
        elif blank_ends and not stripped and buffer:
            blanks += 1
            if blanks >= 2:
                yield "\n".join(buffer).strip()
                buffer, blanks = [], 0
            else:
                buffer.append(line)
        else:
            blanks = 0
            if stripped or buffer:
                buffer.append(line)
    if buffer and "\n".join(buffer).strip():
        yield "\n".join(buffer).strip()


def read_text_file(path: str, what: str) -> str:
    """A UTF-8 text file the user named, or one clear line saying why it cannot be used."""
    file = Path(path)
    if not file.is_file():
        raise UserInputError(f"no such {what}: {file}")
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"the {what} {file} is not UTF-8 text") from None
    except OSError as err:
        raise UserInputError(f"cannot read the {what} {file}: {err.strerror or err}") from None


def read_file_answers(path: str) -> Iterator[str]:
    """The answers in a file, read and checked in full before any session is touched."""
    lines = read_text_file(path, "answers file").splitlines()
    answers = [a for a in answers_from_lines(iter(lines), blank_ends=False) if a]
    if not answers:
        raise UserInputError(f"the answers file {path} holds no answers (separate them with lines '---')")
    return iter(answers)


def show(step: Step, out: TextIO, bank: QuestionBank | None = None) -> None:
    """A step in the terminal: the score line, any change since a previous attempt, the model
    answer of a question just finished, then the interviewer's words."""
    if step.card is not None:
        card = step.card
        dims = ", ".join(f"{d.name.lower()} {d.score}" for d in card.dimensions)
        note = f"; not an answer: {card.non_answer}" if card.non_answer else ""
        out.write(f"  [scored {card.overall}/5 by {card.engine_label}: {dims}{note}]\n")
        if card.compared:
            out.write(f"  [compared with your previous attempt: {'; '.join(card.compared.lines())}]\n")
    for message in step.messages:
        finished = message.finished
        if finished and bank is not None and finished in bank.questions:
            out.write(f"\n{model_answer(bank.get(finished)).as_text()}\n")
        out.write(f"\nInterviewer: {message.text}\n")
    out.flush()


def run_interview(args: argparse.Namespace, services: Services, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up per call: the stream may be replaced after import
    # Every input is checked before a session is created or resumed, so a bad one leaves nothing.
    if args.resume is not None and not args.resume.strip():
        raise UserInputError("--resume needs a session id (see `coach sessions list`)")
    answers_file = read_file_answers(args.answers_file) if args.answers_file is not None else None
    focus = read_text_file(args.focus_file, "focus file") if args.focus_file else ""
    if focus.strip() and services.store_if_ready() is None:
        print(
            "warning: the corpus store is empty or missing, so the focus file cannot steer which "
            "questions are asked (they are drawn at random); run `coach ingest` first",
            file=sys.stderr,
        )
    sessions: InterviewSessions = services.interviews(args.engine)
    if args.resume is not None:
        step = sessions.resume(args.resume.strip())
        out.write(f"Resuming session {step.session_id}.\n")
    else:
        config = InterviewConfig(
            track=args.track,
            difficulty=args.difficulty,
            questions=args.questions,
            follow_ups=args.follow_ups,
            focus=focus,
        )
        step = sessions.start(config)
        out.write(
            f"Session {step.session_id} (engine: {sessions.interviewer.engine.name}). "
            f"Resume later with: coach interview --resume {step.session_id}\n"
        )
    show(step, out, services.bank)
    interactive = answers_file is None and sys.stdin.isatty()
    if answers_file is not None:
        answers = answers_file
    else:
        if interactive:
            out.write(f"{PROMPT}\n")
        answers = answers_from_lines(iter(sys.stdin.readline, ""), blank_ends=interactive)
    while not step.done:
        if interactive:
            out.write("\nYou: ")
            out.flush()
        answer = next(answers, None)
        if answer is None:
            out.write(
                "\nNo more answers; the session is saved. "
                f"Resume with: coach interview --resume {step.session_id}\n"
            )
            break
        if not interactive:
            out.write(f"\nYou: {answer}\n")
        try:
            # The position shown is passed along: if another window or process answered this
            # session meanwhile, the answer is refused rather than applied to another question.
            step = sessions.answer(step.session_id, answer, expect_seq=step.seq)
        except UserInputError as err:
            out.write(f"  ({err})\n")
            continue
        show(step, out, services.bank)
    if args.transcript_out:
        fmt = "json" if args.transcript_out.endswith(".json") else "md"
        Path(args.transcript_out).write_text(sessions.export(step.session_id, fmt), encoding="utf-8")
        out.write(f"Transcript written to {args.transcript_out}\n")
    return 0


def run_sessions(args: argparse.Namespace, services: Services, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    db = services.session_db
    if args.sessions_command == "list":
        rows = db.sessions(limit=args.limit)
        if not rows:
            out.write("no sessions yet: start one with `coach interview`\n")
        for row in rows:
            summary = SessionSummary.stored(row.summary)
            overall = summary.overall if summary else None
            score = f"{overall}/5" if overall is not None else "-"
            out.write(
                f"{row.id}  {row.status:<8} {row.track or 'any':<18} {row.questions} q  overall {score}\n"
            )
        return 0
    # read from the database alone: showing a transcript builds no interview graph
    text = export(db, args.id, "md" if args.sessions_command == "show" else args.format)
    if args.sessions_command == "export" and args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        out.write(f"wrote {args.out}\n")
    else:
        out.write(text)
    return 0
