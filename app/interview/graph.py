"""The interview as a LangGraph state machine, checkpointed after every step.

One invocation per candidate message: receive -> (command | assess -> follow up or move on)
-> ask -> END. The state (config, asked ids, cards so far, the current question) lives in the
checkpointer under the session id, so an interview resumes after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, TypedDict, cast

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from app.corpus.loader import QuestionBank
from app.corpus.models import Question, Rubric
from app.engines.types import ModelSeam, Phrased, PhraseRequest, Turn
from app.interview.plan import COMMANDS, InterviewConfig, pick_question, summarise
from app.scoring.gaps import Context
from app.scoring.scorecard import (
    AttemptDiff,
    Change,
    CompactCard,
    NextMove,
    Scorecard,
    SessionSummary,
    stage_line,
)
from app.scoring.scorer import Scorer
from app.store.vectors import CorpusStore

HISTORY_TURNS = 12
# "ask" is the question of a feedback-tab answer kept as a one-question session.
MessageKind = Literal["question", "follow_up", "hint", "repeat", "note", "summary", "closed", "ask"]


class InterviewerMessage(BaseModel):
    """One thing the interviewer said in a step (the checkpoint keeps it as its JSON dump)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["interviewer"] = "interviewer"
    kind: MessageKind
    text: str
    question_id: str | None = None
    engine: str = ""
    target: str | None = None  # a follow-up's NextMove target; "retry" on a re-asked question
    finished: str | None = None  # the question this message leaves (its model answer is due)


class InterviewState(TypedDict, total=False):
    session_id: str
    config: dict[str, Any]
    status: Literal["new", "asking", "done"]
    asked: list[str]
    current: str | None
    answer_so_far: str
    follow_ups_used: int
    probed: list[str]
    said: list[str]  # follow-up wordings asked this session (none is asked twice)
    last_finished: str | None  # the question most recently left (what `retry` re-asks)
    attempt_before: dict[str, Any] | None  # on a retried question, the previous attempt's card
    last_prompt: str
    cards: list[dict[str, Any]]
    history: list[dict[str, str]]
    inbox: str
    inbox_seq: int
    processed_seq: int
    outbox: list[dict[str, Any]]
    card: dict[str, Any] | None
    summary: dict[str, Any] | None


def compact_card(card: dict[str, Any] | Scorecard) -> dict[str, Any]:
    """What the interview keeps of a scorecard (a CompactCard, as the checkpoint stores it)."""
    full = card if isinstance(card, Scorecard) else Scorecard.model_validate(card)
    return CompactCard.of(full).model_dump()


def command_of(text: str) -> str | None:
    """'hint', 'repeat', 'skip' or 'end' when the message is only that word."""
    word = text.strip().lower().strip(".!/ ")
    return word if word in COMMANDS else None


class Interviewer:
    """Builds and runs the graph; knows nothing of storage beyond the checkpointer it is given."""

    def __init__(
        self,
        engine: ModelSeam,
        scorer: Scorer,
        bank: QuestionBank,
        rubric: Rubric,
        checkpointer: Any,
        store: CorpusStore | None = None,
    ) -> None:
        self.engine = engine
        self.scorer = scorer
        self.bank = bank
        self.rubric = rubric
        self.store = store
        self.graph = self._build().compile(checkpointer=checkpointer)

    # -- public --------------------------------------------------------------------------
    def start(self, session_id: str, config: InterviewConfig) -> InterviewState:
        return self._invoke(session_id, initial_state(session_id, config.as_dict()))

    def restore(self, session_id: str, state: InterviewState) -> None:
        """Replace the checkpointed state (missing, older or damaged) with one rebuilt elsewhere."""
        config: Any = {"configurable": {"thread_id": session_id}}
        self.graph.update_state(config, {**state, "outbox": [], "card": None}, as_node="restored")

    def reply(self, session_id: str, text: str, seq: int) -> InterviewState:
        """Process the candidate message stored at transcript position seq."""
        return self._invoke(session_id, {"inbox": text, "inbox_seq": seq, "outbox": [], "card": None})

    def reply_stream(self, session_id: str, text: str, seq: int) -> Iterator[str | InterviewState]:
        """Like reply, yielding the interviewer's words as the engine streams them, then the state."""
        config: Any = {"configurable": {"thread_id": session_id}}
        update: InterviewState = {"inbox": text, "inbox_seq": seq, "outbox": [], "card": None}
        last: Any = None
        for mode, chunk in self.graph.stream(
            update, config, stream_mode=["custom", "values"], durability="exit"
        ):
            if mode == "custom":
                yield str(chunk.get("piece", "")) if isinstance(chunk, dict) else str(chunk)
            else:
                last = chunk
        yield cast(InterviewState, last)

    def state(self, session_id: str) -> InterviewState:
        snapshot = self.graph.get_state({"configurable": {"thread_id": session_id}})
        return dict(snapshot.values) if snapshot and snapshot.values else {}  # type: ignore[return-value]

    def _invoke(self, session_id: str, update: InterviewState) -> InterviewState:
        config: Any = {"configurable": {"thread_id": session_id}}
        # Only the state after the whole step is checkpointed: a step cut short is replayed from
        # the committed transcript (see InterviewSessions.resume), so mid-step saves add nothing.
        result: Any = self.graph.invoke(update, config, durability="exit")
        return cast(InterviewState, result)

    # -- graph ---------------------------------------------------------------------------
    def _build(self) -> StateGraph:
        g = StateGraph(InterviewState)
        g.add_node("receive", self._receive)
        g.add_node("assess", self._assess)
        g.add_node("follow_up", self._follow_up)
        g.add_node("next_question", self._next_question)
        g.add_node("hint", self._hint)
        g.add_node("repeat", self._repeat)
        g.add_node("retry", self._retry)
        g.add_node("wrap_up", self._wrap_up)
        # Never run: the node a state rebuilt from the transcript is written as (see restore).
        g.add_node("restored", lambda state: {})
        g.add_edge("restored", END)
        g.add_edge(START, "receive")
        g.add_conditional_edges(
            "receive",
            self._route,
            ["next_question", "assess", "hint", "repeat", "retry", "wrap_up", END],
        )
        g.add_conditional_edges("assess", self._after_assess, ["follow_up", "next_question"])
        g.add_edge("follow_up", END)
        g.add_edge("hint", END)
        g.add_edge("repeat", END)
        g.add_edge("retry", END)
        g.add_conditional_edges("next_question", self._after_next, ["wrap_up", END])
        g.add_edge("wrap_up", END)
        return g

    def _route(self, state: InterviewState) -> str:
        if state.get("status") == "new":
            return "next_question"
        if state.get("status") == "done":
            return END
        command = command_of(state.get("inbox", ""))
        routes = {
            "skip": "next_question",
            "end": "wrap_up",
            "hint": "hint",
            "repeat": "repeat",
            "retry": "retry",
        }
        return routes.get(command or "", "assess")

    def _receive(self, state: InterviewState) -> InterviewState:
        if state.get("status") == "done":
            message = "This interview has ended. Start a new one to keep practising."
            return {
                "outbox": [self._message("closed", message, None)],
                "processed_seq": state.get("inbox_seq", 0),
            }
        update: InterviewState = {"processed_seq": state.get("inbox_seq", 0)}
        text = state.get("inbox", "")
        if state.get("status") == "asking" and text:
            update["history"] = [*state.get("history", []), {"role": "candidate", "text": text}][
                -HISTORY_TURNS:
            ]
        if command_of(text) == "skip" and state.get("current"):
            update["cards"] = [*state.get("cards", []), skipped_card(str(state["current"]))]
            update["answer_so_far"] = ""
        return update

    def _question(self, state: InterviewState) -> Question:
        return self.bank.get(str(state.get("current")))

    def _assess(self, state: InterviewState) -> InterviewState:
        question = self._question(state)
        so_far = "\n".join(p for p in (state.get("answer_so_far", ""), state.get("inbox", "")) if p)
        context = Context(
            probed=frozenset(state.get("probed", [])),
            said=tuple(state.get("said", [])),
            used=state.get("follow_ups_used", 0),
            limit=int(state["config"]["follow_ups"]),
            seed=str(state.get("session_id", "")),
            refer=True,
            latest=state.get("inbox", ""),
        )
        scored = self.scorer.score(so_far, question_id=question.id, context=context)
        before = state.get("attempt_before")
        if before and before.get("question_id") == question.id:
            scored.compared = compare_attempts(CompactCard.model_validate(before), scored)
        card = scored.model_dump()  # the compact card is read off the object: no second validation
        return {"answer_so_far": so_far, "card": card, "cards": with_card(state, compact_card(scored))}

    @staticmethod
    def _decision(state: InterviewState) -> NextMove:
        """The decision made on the answer just scored (the card shows it)."""
        card = state.get("card") or {}
        return NextMove.model_validate(card.get("next") or {"action": "move_on"})

    def _after_assess(self, state: InterviewState) -> str:
        return "follow_up" if self._decision(state).action == "follow_up" else "next_question"

    def _follow_up(self, state: InterviewState) -> InterviewState:
        move = self._decision(state)
        question = self._question(state)
        point = (
            question.talking_point(move.target.split(":", 1)[1]) if move.target.startswith("point:") else None
        )
        request = PhraseRequest(
            kind="follow_up",
            question=question,
            planned_text=move.text,
            talking_point=point,
            answer_excerpt=state.get("inbox", "")[-1500:],
            history=self._turns(state),
        )
        phrased = self._say(request)
        # An engine's rewording may repeat an earlier follow-up of this session; the planned
        # wording never does (decide() skipped used ones), so it stands in.
        text = move.text if repeats(phrased.text, state.get("said", [])) else phrased.text
        message = self._message("follow_up", text, question.id, phrased.run.label, target=move.target)
        # The card states exactly what was asked (an engine may reword the planned follow-up).
        card = {**(state.get("card") or {}), "follow_up": text}
        card["next"] = {**card.get("next", {}), "text": text}
        return {
            "card": card,
            "follow_ups_used": state.get("follow_ups_used", 0) + 1,
            "probed": [*state.get("probed", []), move.target],
            "said": [*state.get("said", []), text],
            "last_prompt": text,
            "outbox": [*state.get("outbox", []), message],
            "history": [*state.get("history", []), {"role": "interviewer", "text": text}][-HISTORY_TURNS:],
        }

    def _next_question(self, state: InterviewState) -> InterviewState:
        config = InterviewConfig.from_dict(state["config"])
        asked = list(state.get("asked", []))
        finished: InterviewState = {"current": None, "last_finished": state.get("current")}
        if len(asked) >= config.questions:
            return finished
        question = pick_question(self.bank, config, asked, state["session_id"], self.store)
        if question is None:
            return finished
        number = len(asked) + 1
        request = PhraseRequest(
            kind="ask",
            question=question,
            planned_text=question.question,
            number=number,
            total=config.questions,
            history=self._turns(state),
        )
        phrased = self._say(request)
        text = f"Question {number} of {config.questions} ({question.difficulty}): {phrased.text}"
        message = self._message(
            "question", text, question.id, phrased.run.label, finished=state.get("current")
        )
        return {
            "status": "asking",
            "asked": [*asked, question.id],
            "current": question.id,
            "answer_so_far": "",
            "follow_ups_used": 0,
            "probed": [],
            "last_prompt": text,
            "last_finished": state.get("current") or state.get("last_finished"),
            "attempt_before": None,
            "outbox": [*state.get("outbox", []), message],
            "history": [*state.get("history", []), {"role": "interviewer", "text": text}][-HISTORY_TURNS:],
        }

    def _after_next(self, state: InterviewState) -> str:
        return END if state.get("current") else "wrap_up"

    def _hint(self, state: InterviewState) -> InterviewState:
        question = self._question(state)
        cards = [CompactCard.model_validate(c) for c in state.get("cards", [])]
        missed = next(
            (c.missed for c in reversed(cards) if c.question_id == question.id and not c.skipped), None
        )
        probed = {p.split(":", 1)[1] for p in state.get("probed", []) if p.startswith("point:")}
        ids = [i for i in (missed or [tp.id for tp in question.talking_points]) if i not in probed]
        point = question.talking_point(ids[0]) if ids else question.talking_points[0]
        request = PhraseRequest(
            kind="hint",
            question=question,
            planned_text=point.follow_up if point else "",
            talking_point=point,
        )
        phrased = self._say(request)
        return {"outbox": [self._message("hint", phrased.text, question.id, phrased.run.label)]}

    def _repeat(self, state: InterviewState) -> InterviewState:
        return {"outbox": [self._message("repeat", state.get("last_prompt", ""), state.get("current"))]}

    def _retry(self, state: InterviewState) -> InterviewState:
        """Re-ask the question just left (or the current one, once answered), as a new attempt
        compared with the previous one; an unanswered current question goes back to the pool."""
        current = state.get("current")
        answered = bool(state.get("answer_so_far"))
        target = current if answered else state.get("last_finished")
        previous = next((c for c in reversed(state.get("cards", [])) if c.get("question_id") == target), None)
        if not target or previous is None or previous.get("skipped"):
            text = "There is no answered question to retry yet: answer this one first, then type retry."
            return {"outbox": [self._message("note", text, current)]}
        question = self.bank.get(str(target))
        text = f"Let's try that one again (a new attempt, compared with your last): {question.question}"
        message = self._message("question", text, question.id, target="retry")
        return {
            **retried(state, str(target), previous),
            "last_prompt": text,
            "outbox": [*state.get("outbox", []), message],
            "history": [*state.get("history", []), {"role": "interviewer", "text": text}][-HISTORY_TURNS:],
        }

    def _wrap_up(self, state: InterviewState) -> InterviewState:
        summary = summarise(
            state.get("cards", []),
            self.rubric,
            self.bank,
            state.get("asked", []),
            config=InterviewConfig.from_dict(state["config"]),
            seed=str(state.get("session_id", "")),
        )
        left = state.get("current") or state.get("last_finished")
        message = self._message("summary", render_summary(summary), None, finished=left)
        return {
            "status": "done",
            "current": None,
            "summary": summary,
            "outbox": [*state.get("outbox", []), message],
        }

    # -- helpers -------------------------------------------------------------------------
    def _say(self, request: PhraseRequest) -> Phrased:
        """The engine's words for a planned move, streamed to any listener as they arrive."""
        try:
            writer = get_stream_writer()
        except RuntimeError:  # not inside a streaming run
            writer = None
        final: Phrased | None = None
        for piece in self.engine.stream_phrase(request):
            if isinstance(piece, Phrased):
                final = piece
            elif writer is not None:
                writer({"piece": piece})
        assert final is not None
        return final

    @staticmethod
    def _turns(state: InterviewState) -> tuple[Turn, ...]:
        return tuple(
            Turn("interviewer" if h["role"] == "interviewer" else "candidate", h["text"])
            for h in state.get("history", [])
        )

    def _message(
        self,
        kind: MessageKind,
        text: str,
        question_id: str | None,
        engine: str | None = None,
        target: str | None = None,
        finished: str | None = None,
    ) -> dict[str, Any]:
        said = InterviewerMessage(
            kind=kind,
            text=text,
            question_id=question_id,
            engine=engine or self.engine.name,
            target=target,
            finished=finished,
        )
        return said.model_dump()


def outbox(state: Mapping[str, Any]) -> list[InterviewerMessage]:
    """The interviewer's messages of the step just run, typed."""
    return [InterviewerMessage.model_validate(m) for m in state.get("outbox") or []]


REPEAT_MIN_CHARS = 20  # shorter wordings ("Why?") may recur without sounding scripted


def normalised(text: str) -> str:
    """A wording compared without case, punctuation or spacing."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def repeats(text: str, said: Iterable[str]) -> bool:
    """The wording repeats one asked earlier (the same, or one containing the other), normalised."""
    new = normalised(text)
    for old in map(normalised, said):
        shorter = min(len(new), len(old))
        if shorter >= REPEAT_MIN_CHARS and (new in old or old in new):
            return True
        if new == old:
            return True
    return False


def with_card(state: InterviewState, compact: dict[str, Any]) -> list[dict[str, Any]]:
    """The session's cards with this one replacing any earlier card of its question."""
    qid = compact["question_id"]
    kept = [c for c in state.get("cards", []) if c.get("question_id") != qid or c.get("skipped")]
    return [*kept, compact]


def retried(state: InterviewState, target: str, previous: dict[str, Any]) -> InterviewState:
    """The state change of a retry (shared by the graph and the transcript replay)."""
    current = state.get("current")
    asked = list(state.get("asked", []))
    if current and current != target and not state.get("answer_so_far"):
        asked = [q for q in asked if q != current]  # the unanswered question goes back to the pool
    return {
        "status": "asking",
        "asked": asked,
        "current": target,
        "answer_so_far": "",
        "follow_ups_used": 0,
        "probed": [],
        "attempt_before": previous,
    }


def compare_attempts(before: CompactCard, after: Scorecard) -> AttemptDiff:
    """Per dimension and per talking point, what changed from the previous attempt."""
    points = {m.id: m.point for m in after.missed_points} | {c.id: c.point for c in after.covered}
    return AttemptDiff(
        previous_overall=before.overall,
        overall=after.overall,
        dimensions=[
            Change(id=d.id, name=d.name, before=before.scores.get(d.id), after=d.score)
            for d in after.dimensions
        ],
        now_covered=[points.get(p, p) for p in after.covered_points if p not in before.covered],
        no_longer_covered=[points.get(p, p) for p in before.covered if p not in after.covered_points],
    )


def skipped_card(question_id: str) -> dict[str, Any]:
    return CompactCard(question_id=question_id, skipped=True).model_dump()


def initial_state(session_id: str, config: dict[str, Any]) -> InterviewState:
    return {
        "session_id": session_id,
        "config": config,
        "status": "new",
        "asked": [],
        "current": None,
        "answer_so_far": "",
        "follow_ups_used": 0,
        "probed": [],
        "said": [],
        "last_finished": None,
        "attempt_before": None,
        "last_prompt": "",
        "cards": [],
        "history": [],
        "inbox": "",
        "inbox_seq": 0,
        "processed_seq": 0,
        "outbox": [],
        "card": None,
        "summary": None,
    }


def rebuild_state(
    session_id: str,
    config: dict[str, Any],
    turns: Iterable[Mapping[str, Any]],
    summary: dict[str, Any] | None,
) -> InterviewState:
    """The state the graph reaches after the stored transcript, replayed without any engine.

    Each turn is a mapping with role, kind, text, seq, question_id, target (follow-ups) and card
    (the scorecard of a scored answer). It mirrors the graph's nodes; a test checks that it
    agrees with the checkpointed state after every step.
    """
    state = initial_state(session_id, config)
    for turn in turns:
        if turn["role"] == "candidate":
            _replay_message(state, turn)
        else:
            _replay_prompt(state, turn, summary)
    return state


def _remember(state: InterviewState, role: str, text: str) -> None:
    state["history"] = [*state.get("history", []), {"role": role, "text": text}][-HISTORY_TURNS:]


def _replay_message(state: InterviewState, turn: Mapping[str, Any]) -> None:
    text = str(turn["text"])
    state.update({"inbox": text, "inbox_seq": int(turn["seq"]), "processed_seq": int(turn["seq"])})
    if state.get("status") != "asking":
        return
    if text:
        _remember(state, "candidate", text)
    command = command_of(text)
    if command == "skip" and state.get("current"):
        state["cards"] = [*state.get("cards", []), skipped_card(str(state["current"]))]
        state["answer_so_far"] = ""
    elif command is None and turn.get("card") is not None:
        state["answer_so_far"] = "\n".join(p for p in (state.get("answer_so_far", ""), text) if p)
        state["cards"] = with_card(state, compact_card(turn["card"]))


def _replay_prompt(state: InterviewState, turn: Mapping[str, Any], summary: dict[str, Any] | None) -> None:
    text, kind = str(turn["text"]), turn["kind"]
    if kind == "question" and turn.get("target") == "retry":
        target = str(turn["question_id"])
        previous = next((c for c in reversed(state.get("cards", [])) if c.get("question_id") == target), None)
        state.update(retried(state, target, previous or {}))
        state["last_prompt"] = text
        _remember(state, "interviewer", text)
    elif kind == "question":
        state["last_finished"] = state.get("current") or state.get("last_finished")
        state["attempt_before"] = None
        state.update(
            {
                "status": "asking",
                "asked": [*state.get("asked", []), turn["question_id"]],
                "current": turn["question_id"],
                "answer_so_far": "",
                "follow_ups_used": 0,
                "probed": [],
                "last_prompt": text,
            }
        )
        _remember(state, "interviewer", text)
    elif kind == "follow_up":
        state["follow_ups_used"] = state.get("follow_ups_used", 0) + 1
        state["probed"] = [*state.get("probed", []), *([turn["target"]] if turn.get("target") else [])]
        state["said"] = [*state.get("said", []), text]
        state["last_prompt"] = text
        _remember(state, "interviewer", text)
    elif kind == "summary":
        state.update({"status": "done", "current": None, "summary": summary})


def render_summary(summary: dict[str, Any] | SessionSummary) -> str:
    """The session scorecard as plain text for the chat and the terminal."""
    data = summary if isinstance(summary, SessionSummary) else SessionSummary.model_validate(summary)
    if not data.answered:
        return "Interview over. No question was answered, so there is nothing to score yet."
    lines = [f"Interview over. Overall {data.overall}/5 over {data.answered} answered question(s)."]
    lines += [f"- {dim.replace('_', ' ')}: {avg}/5" for dim, avg in data.dimensions.items()]
    named = [("Best answer", data.best), ("Weakest answer", data.weakest)] if data.weakest else []
    for label, brief in named or [("Your answer", data.best)]:
        if brief is not None:
            quote = f' "{brief.quote}"' if brief.quote else ""
            lines.append(f"{label}: {brief.title or brief.question_id} ({brief.overall}/5){quote}")
    if data.stages:
        lines.append("Design stages:")
        lines += [stage_line(s) for s in data.stages]
    for drill in data.drills:
        practice = "; ".join(f"{p.title} [{p.id}]" for p in drill.practice) or "any question in the bank"
        lines.append(f"Practise {(drill.name or drill.dimension).lower()}: {drill.drill} Try: {practice}")
    return "\n".join(lines)
