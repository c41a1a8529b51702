"""Interview sessions: every message is committed before the reply is shown; crashes resume."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import UserInputError
from app.interview.graph import Interviewer
from app.interview.plan import InterviewConfig
from app.sessions.db import SessionDB, TurnRow

MAX_MESSAGE_CHARS = 20_000


@dataclass
class Step:
    """What the interviewer said in reply to one message."""

    session_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    card: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    done: bool = False


class InterviewSessions:
    """Runs interviews over the interviewer graph and the session database."""

    def __init__(self, db: SessionDB, interviewer: Interviewer) -> None:
        self.db = db
        self.interviewer = interviewer

    def start(self, config: InterviewConfig) -> Step:
        config = InterviewConfig(
            **{**config.__dict__, "exclude": tuple(self.db.recent_question_ids())}
        ).validate(self.interviewer.bank)
        session_id = self.db.create_session(config.as_dict(), self.interviewer.engine.name)
        state = self.interviewer.start(session_id, config)
        return self._commit(session_id, state)

    def answer(self, session_id: str, text: str) -> Step:
        """Store the candidate's message, then let the interviewer reply."""
        final: Step | None = None
        for item in self.answer_stream(session_id, text):
            if isinstance(item, Step):
                final = item
        assert final is not None
        return final

    def answer_stream(self, session_id: str, text: str) -> Iterator[str | Step]:
        """As `answer`, yielding the interviewer's words as they stream, then the Step."""
        session = self.db.session(session_id)
        if session.status == "finished":
            raise UserInputError("this interview has ended; start a new one")
        if not isinstance(text, str) or not text.strip():
            raise UserInputError("type an answer, or one of: hint, repeat, skip, end")
        if "\x00" in text:
            raise UserInputError("the answer contains binary data (NUL bytes)")
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserInputError(
                f"the answer is {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}"
            )
        last = self.db.last_turn(session_id)
        state = self.interviewer.state(session_id)
        if not state or last is None or last.role == "candidate":
            self.resume(session_id)  # settle any step a crash left half done
            state = self.interviewer.state(session_id)
        current = state.get("current")
        kind = (
            "command" if text.strip().lower().strip(".!/ ") in ("hint", "repeat", "skip", "end") else "answer"
        )
        turn_id = self.db.add_turn(session_id, "candidate", kind, text, current)
        added = self.db.last_turn(session_id)
        seq = added.seq if added else 0
        final: Any = None
        for item in self.interviewer.reply_stream(session_id, text, seq):
            if isinstance(item, str):
                yield item
            else:
                final = item
        yield self._commit(session_id, final, turn_id)

    def resume(self, session_id: str) -> Step:
        """After a restart: replay what a crash cut off, then show where the interview stands."""
        turns = self.db.turns(session_id)
        state = self.interviewer.state(session_id)
        if not state:
            session = self.db.session(session_id)
            return self._commit(
                session_id,
                self.interviewer.start(session_id, InterviewConfig.from_dict(session.config)),
            )
        if turns and turns[-1].role == "candidate":
            last = turns[-1]
            if int(state.get("processed_seq", 0)) != last.seq:
                state = self.interviewer.reply(session_id, last.text, last.seq)
            return self._commit(session_id, state, last.id)
        last_prompt = next((t for t in reversed(turns) if t.role == "interviewer"), None)
        return Step(
            session_id,
            messages=[{"role": "interviewer", "kind": last_prompt.kind, "text": last_prompt.text}]
            if last_prompt
            else [],
            summary=state.get("summary"),
            done=state.get("status") == "done",
        )

    def _commit(self, session_id: str, state: Mapping[str, Any], turn_id: int | None = None) -> Step:
        card = state.get("card")
        if card is not None:
            self.db.add_scorecard(session_id, turn_id, card["question_id"], card["overall"], card)
        messages = list(state.get("outbox") or [])
        for message in messages:
            self.db.add_turn(
                session_id,
                "interviewer",
                message["kind"],
                message["text"],
                message.get("question_id"),
                message.get("engine"),
            )
        done = state.get("status") == "done"
        if done and self.db.session(session_id).status != "finished":
            self.db.finish(session_id, state.get("summary") or {})
        return Step(session_id, messages, card, state.get("summary"), done)

    # -- transcripts ---------------------------------------------------------------------
    def export(self, session_id: str, fmt: str = "md") -> str:
        session = self.db.session(session_id)
        turns = self.db.turns(session_id)
        cards = self.db.scorecards(session_id)
        if fmt == "json":
            return json.dumps(
                {
                    "session": {**session.__dict__},
                    "turns": [t.__dict__ for t in turns],
                    "scorecards": cards,
                },
                indent=2,
                ensure_ascii=False,
            )
        if fmt != "md":
            raise UserInputError("export format must be md or json")
        return transcript_markdown(session.__dict__, turns, cards)


def transcript_markdown(session: dict[str, Any], turns: list[TurnRow], cards: list[dict[str, Any]]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session["created_at"]))
    lines = [
        f"# Mock interview {session['id']}",
        "",
        f"{when} · track {session['track'] or 'any'} · difficulty {session['difficulty'] or 'any'}"
        f" · engine {session['engine']} · {session['status']}",
        "",
    ]
    for turn in turns:
        who = "Interviewer" if turn.role == "interviewer" else "You"
        body = turn.text.replace("\n", "\n> ") if turn.role == "candidate" else turn.text
        lines += [f"**{who}:**", "", f"> {body}" if turn.role == "candidate" else body, ""]
    if cards:
        lines += ["## Scorecards", ""]
        for card in cards:
            dims = ", ".join(f"{d['id']} {d['score']}" for d in card["dimensions"])
            lines.append(f"- {card['question_id']}: overall {card['overall']}/5 ({dims})")
    return "\n".join(lines) + "\n"
