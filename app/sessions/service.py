"""Interview sessions: every message is committed before the reply is shown; crashes resume.

A step is two transactions: the candidate's message (refused if the transcript moved on), then
the interviewer's reply with its scorecard. A crash between them leaves the message alone, which
resume replays; never half a reply, so nothing is stored twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import ConflictError, UserInputError
from app.interview.graph import (
    Interviewer,
    InterviewerMessage,
    InterviewState,
    command_of,
    outbox,
    rebuild_state,
)
from app.interview.plan import InterviewConfig, pool_history
from app.scoring.scorecard import Scorecard, SessionSummary
from app.sessions.db import ANSWERED_ELSEWHERE, ANY_OWNER, SessionStore, TurnRow
from app.sessions.transcripts import export

MAX_MESSAGE_CHARS = 20_000


@dataclass
class Step:
    """What the interviewer said in reply to one message (typed: read by attribute, not by key)."""

    session_id: str
    messages: list[InterviewerMessage] = field(default_factory=list)
    card: Scorecard | None = None
    summary: SessionSummary | None = None
    done: bool = False
    seq: int = 0  # the transcript's last position after this step; pass it back as expect_seq


# The checkpointed fields that must agree with the transcript; any difference and the
# transcript wins (the checkpoint is rebuilt from it).
CHECKED_FIELDS = (
    "status",
    "asked",
    "current",
    "answer_so_far",
    "follow_ups_used",
    "probed",
    "last_prompt",
    "cards",
    "history",
    "processed_seq",
    "summary",
)


class InterviewSessions:
    """Runs interviews over the interviewer graph and the session database.

    The database is the source of truth; the graph's checkpoint is a cache of the state it
    implies, rebuilt from the transcript when missing, older or otherwise different. One writer
    at a time per session (threads and processes), and a message states the position it
    answers, so two writers never interleave.
    """

    def __init__(self, db: SessionStore, interviewer: Interviewer) -> None:
        self.db = db
        self.interviewer = interviewer

    def start(self, config: InterviewConfig, owner: str | None = None) -> Step:
        """A new session for owner (None: the single-user local mode)."""
        recent = self.db.recent_question_ids(owner=owner)
        history = pool_history(recent_summaries(self.db, owner))
        config = InterviewConfig(**{**config.__dict__, "exclude": tuple(recent), **history}).validate(
            self.interviewer.bank
        )
        session_id = self.db.create_session(config.as_dict(), self.interviewer.engine.name, owner)
        with self.db.locks.hold(session_id):
            state = self.interviewer.start(session_id, config)
            return self._record(session_id, state, None)

    def answer(
        self, session_id: str, text: str, expect_seq: int | None = None, owner: str | None = None
    ) -> Step:
        """Store the candidate's message, then let the interviewer reply.

        expect_seq is the last position the candidate saw (Step.seq): when the session moved on
        since, the message is refused (ConflictError). Without it, concurrent messages are
        applied one after the other. Another owner's session is "not found".
        """
        final: Step | None = None
        for item in self._answer(session_id, text, expect_seq, owner, stream=False):
            if isinstance(item, Step):
                final = item
        assert final is not None
        return final

    def answer_stream(
        self, session_id: str, text: str, expect_seq: int | None = None, owner: str | None = None
    ) -> Iterator[str | Step]:
        """As `answer`, yielding the interviewer's words as they stream, then the Step."""
        yield from self._answer(session_id, text, expect_seq, owner, stream=True)

    def _answer(
        self, session_id: str, text: str, expect_seq: int | None, owner: str | None, stream: bool
    ) -> Iterator[str | Step]:
        """The one path of `answer` and `answer_stream`. Without stream, the graph runs its nodes
        in this thread: LangGraph streams custom events through a thread pool created per run,
        which cost a caller that wants only the Step (the API, the load test) about a third of a
        cached answer's time."""
        self.db.session(session_id, owner)  # an unknown id is a clear error, before any lock
        self._check_message(text)
        with self.db.locks.hold(session_id):
            last = self.db.last_turn(session_id)
            if expect_seq is not None and (last.seq if last else 0) != expect_seq:
                raise ConflictError(ANSWERED_ELSEWHERE)  # even if that ended the interview
            if self.db.session(session_id, ANY_OWNER).status == "finished":
                raise UserInputError("this interview has ended; start a new one")
            replayed, state = self._settle(session_id, thorough=False)
            if replayed is not None:  # a message a crash left unanswered was answered just now
                state = self.interviewer.state(session_id)
                last = self.db.last_turn(session_id)
            kind = "command" if command_of(text) else "answer"
            # Transaction 1: the message, committed before the model is called (a crash during
            # the call loses nothing: resume replays it). Transaction 2 is _record's.
            seq = self.db.add_turn(
                session_id, "candidate", kind, text, state.get("current"), expect_seq=last.seq if last else 0
            )
            final: Any = None
            if stream:
                for item in self.interviewer.reply_stream(session_id, text, seq):
                    if isinstance(item, str):
                        yield item
                    else:
                        final = item
            else:
                final = self.interviewer.reply(session_id, text, seq)
            yield self._record(session_id, final, seq)

    def resume(self, session_id: str, owner: str | None = None) -> Step:
        """After a restart: replay what a crash cut off, then show where the interview stands."""
        self.db.session(session_id, owner)  # an unknown id is a clear error, before any lock
        with self.db.locks.hold(session_id):
            replayed, _ = self._settle(session_id)
            if replayed is not None:
                return replayed
            turns = self.db.turns(session_id)
            state = self.interviewer.state(session_id)
            last_prompt = next((t for t in reversed(turns) if t.role == "interviewer"), None)
            return Step(
                session_id,
                messages=[InterviewerMessage.model_validate(_message_of(last_prompt))] if last_prompt else [],
                summary=SessionSummary.stored(state.get("summary")),
                done=state.get("status") == "done",
                seq=turns[-1].seq if turns else 0,
            )

    def rebuilt_state(self, session_id: str) -> InterviewState:
        """The interview state the stored transcript implies (the candidate's last message
        counts as processed only once the interviewer's reply to it is stored)."""
        turns = self.db.turns(session_id)
        if turns and turns[-1].role == "candidate":
            turns = turns[:-1]
        return self._rebuild(session_id, turns)

    # -- internals (called with the session's lock held) ---------------------------------
    @staticmethod
    def _check_message(text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise UserInputError("type an answer, or one of: hint, repeat, skip, end")
        if "\x00" in text:
            raise UserInputError("the answer contains binary data (NUL bytes)")
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserInputError(
                f"the answer is {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}"
            )

    def _rebuild(
        self,
        session_id: str,
        turns: list[TurnRow],
        pending_card: dict[str, Any] | None = None,
        replies: list[dict[str, Any]] | None = None,
    ) -> InterviewState:
        """rebuild_state over stored turns, plus optionally the reply to the last one."""
        session = self.db.session(session_id, ANY_OWNER)
        cards = self.db.scorecards_by_turn(session_id)
        rows: list[dict[str, Any]] = [{**t.__dict__, "card": cards.get(t.id)} for t in turns]
        if pending_card is not None:
            rows[-1]["card"] = pending_card
        rows += [{"role": "interviewer", "seq": 0, **m} for m in replies or []]
        return rebuild_state(session_id, session.config, rows, session.summary)

    def _settle(self, session_id: str, thorough: bool = True) -> tuple[Step | None, InterviewState]:
        """Make the checkpoint agree with the transcript; store the reply to a message a crash
        left unanswered (returned as the Step), replaying it when needed. Also returns the
        checkpoint's state as it stood before any replay.

        Not thorough (before each answer): a checkpoint that has processed the transcript's last
        message, with the reply stored, is taken as agreeing without rebuilding the whole
        transcript to compare (the rebuild and its card decoding grew with every answer and were
        a fifth of a cached answer's time). A crash leaves the last message unanswered, so it
        still takes the full path; `resume` always does."""
        turns = self.db.turns(session_id)
        if not turns:  # a crash before the first question was stored
            config = InterviewConfig.from_dict(self.db.session(session_id, ANY_OWNER).config)
            return self._record(session_id, self.interviewer.start(session_id, config), None), {}
        pending = turns[-1] if turns[-1].role == "candidate" else None
        state = self.interviewer.state(session_id)
        if not thorough and pending is None and _processed_last_message(state, turns):
            return None, state
        if pending is not None and state and int(state.get("processed_seq", 0)) == pending.seq:
            expected = self._rebuild(session_id, turns, state.get("card"), list(state.get("outbox") or []))
            if _agrees({**state, "summary": None}, {**expected, "summary": None}):
                return self._record(session_id, state, pending.seq), state  # replied, reply not stored
        answered = self._rebuild(session_id, turns[:-1] if pending else turns)
        if not _agrees(state, answered):
            self.interviewer.restore(session_id, answered)
            state = answered
        if pending is None:
            return None, state
        replied = self.interviewer.reply(session_id, pending.text, pending.seq)
        return self._record(session_id, replied, pending.seq), state

    def _record(self, session_id: str, state: Mapping[str, Any], answer_seq: int | None) -> Step:
        """The reply (scorecard, interviewer messages, the end) as one transaction."""
        card = state.get("card")
        messages = list(state.get("outbox") or [])
        done = state.get("status") == "done"
        summary = (state.get("summary") or {}) if done else None
        seq = self.db.record_reply(session_id, answer_seq, card, messages, summary)
        typed = Scorecard.model_validate(card) if card else None
        return Step(session_id, outbox(state), typed, SessionSummary.stored(state.get("summary")), done, seq)

    # -- transcripts (read from the database alone: app/sessions/transcripts.py) ----------
    def export(self, session_id: str, fmt: str = "md", owner: str | None = None) -> str:
        return export(self.db, session_id, fmt, owner)


RECENT_SESSIONS = 10  # how far back drills look for weak dimensions and unreached stages


def recent_summaries(
    db: SessionStore, owner: str | None, limit: int = RECENT_SESSIONS
) -> list[SessionSummary]:
    """The owner's most recent finished sessions' summaries (drills pool them)."""
    stored = (SessionSummary.stored(summary) for summary in db.finished_summaries(owner, limit))
    return [s for s in stored if s is not None]


def _message_of(turn: TurnRow) -> dict[str, Any]:
    """A stored interviewer turn as the message it was."""
    return {
        "kind": turn.kind,
        "text": turn.text,
        "question_id": turn.question_id,
        "engine": turn.engine or "",
        "target": turn.target,
    }


def _processed_last_message(state: Mapping[str, Any], turns: list[TurnRow]) -> bool:
    """The checkpoint has processed the transcript's last candidate message (none: 0)."""
    last = next((t.seq for t in reversed(turns) if t.role == "candidate"), 0)
    return bool(state) and int(state.get("processed_seq", 0)) == last


def _agrees(state: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return bool(state) and all(state.get(k) == expected.get(k) for k in CHECKED_FIELDS)
