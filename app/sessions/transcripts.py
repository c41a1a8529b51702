"""Read paths over the sessions database alone (no interview graph, no model): what
`coach sessions show/export` and the UI's transcript and resume views need."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from app.errors import UserInputError
from app.scoring.scorecard import ScoreHeadline
from app.sessions.db import SessionRow, SessionStore, TurnRow


@dataclass(frozen=True)
class Transcript:
    """A stored session as it stands: its row, its messages and its scorecards."""

    session: SessionRow
    turns: list[TurnRow]
    cards: list[dict[str, Any]]

    @property
    def pending(self) -> bool:
        """The last message is the candidate's, without a stored reply (a crash cut it off), or
        nothing was stored yet: only the interviewer can settle it."""
        return not self.turns or self.turns[-1].role == "candidate"

    @property
    def seq(self) -> int:
        return self.turns[-1].seq if self.turns else 0


def load(db: SessionStore, session_id: str, owner: str | None = None) -> Transcript:
    """The session of owner (another user's id is "not found"), read without the graph."""
    session = db.session(session_id, owner)
    return Transcript(session, db.turns(session_id), db.scorecards(session_id))


def export(db: SessionStore, session_id: str, fmt: str = "md", owner: str | None = None) -> str:
    """The transcript as Markdown or JSON."""
    if fmt not in ("md", "json"):
        raise UserInputError("export format must be md or json")
    found = load(db, session_id, owner)
    if fmt == "json":
        return json.dumps(
            {
                "session": {**found.session.__dict__},
                "turns": [t.__dict__ for t in found.turns],
                "scorecards": found.cards,
            },
            indent=2,
            ensure_ascii=False,
        )
    return transcript_markdown(found.session.__dict__, found.turns, found.cards)


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
        lines += [ScoreHeadline.model_validate(c).line() for c in cards]
    return "\n".join(lines) + "\n"
