"""The interviewer's one decision per answer: what the card says is what is asked; depth on strong
answers; no robotic repeats; the design-stage map (corpus data, verbatim quotes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_interview import FEED_FOCUS, WEAK_ON_TOPIC, make_services
from test_scoring import STRONG

from app.corpus.models import Question
from app.errors import CorpusError
from app.interview.plan import InterviewConfig
from app.scoring.gaps import DIMENSION_VARIANTS, Context, decide, opening_states_idea
from app.scoring.scorecard import Scorecard
from app.scoring.stages import INTERVIEWER_FILE, load_interviewer, stage_map
from app.services import Services
from app.sessions.service import InterviewSessions

ROOT = Path(__file__).resolve().parent.parent
QID = "msd-news-feed-ranking"
CLEAR_OPENING = "At a high level, the idea is to rank posts by predicted value to the reader. "
SCRIPTS: dict[str, list[str]] = {
    "weak then silent": [WEAK_ON_TOPIC, "Not sure.", "We would look at engagement.", "skip"],
    "strong": [STRONG, "We would shard the candidate index and cache features.", "I would alert on drift."],
    "clear opening, thin": [CLEAR_OPENING + "We train on clicks.", "Clicks and likes.", "end"],
    "hint and repeat": ["hint", WEAK_ON_TOPIC, "repeat", "We measure retention in an A/B test."],
}


@pytest.fixture
def interviews(tmp_path: Path, corpus_services: Services) -> InterviewSessions:
    return make_services(tmp_path, corpus_services).interviews("offline")


@pytest.fixture(scope="module")
def feed(corpus_services: Services) -> Question:
    return corpus_services.bank.get(QID)


def run_script(interviews: InterviewSessions, answers: list[str], follow_ups: int) -> list[tuple[Any, Any]]:
    step = interviews.start(
        InterviewConfig(track="ml_system_design", questions=2, follow_ups=follow_ups, focus=FEED_FOCUS)
    )
    steps = []
    for answer in answers * 2:
        if step.done:
            break
        step = interviews.answer(step.session_id, answer)
        steps.append((step.card, step.messages))
    return steps


@pytest.mark.parametrize("follow_ups", [1, 3])
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_card_states_exactly_what_is_asked_next(
    interviews: InterviewSessions, script: str, follow_ups: int
) -> None:
    scored = [
        (Scorecard.model_validate(c), m) for c, m in run_script(interviews, SCRIPTS[script], follow_ups) if c
    ]
    assert scored
    for card, messages in scored:
        assert card.next is not None
        if card.next.action == "follow_up":
            assert messages[0].kind == "follow_up" and messages[0].text == card.follow_up
            assert messages[0].target == card.next.target
        else:
            assert card.follow_up == "" and messages[0].kind in ("question", "summary")


def test_the_budget_is_spent_while_gaps_remain(interviews: InterviewSessions) -> None:
    steps = run_script(interviews, [WEAK_ON_TOPIC, "Not sure.", "No idea."], follow_ups=2)
    kinds = [m[0].kind for _, m in steps[:3]]
    assert kinds == ["follow_up", "follow_up", "question"]
    assert Scorecard.model_validate(steps[2][0]).next.reason == "follow-up budget used"  # type: ignore[union-attr]


def test_a_strong_answer_is_probed_deeper_from_the_question_data(
    feed: Question, corpus_services: Services
) -> None:
    data = load_interviewer(corpus_services.settings.corpus_dir)
    move = decide(
        feed,
        {"business_value": 5, "step_back": 5},
        [],
        overall=5,
        answer=STRONG,
        probes=list(data.depth_probes["ml_system_design"]),
    )
    assert move.action == "follow_up" and move.depth and move.target.startswith("probe:")
    assert move.text in {p.text for p in data.depth_probes["ml_system_design"]}


@pytest.mark.parametrize(
    ("answer", "asked"),
    [(CLEAR_OPENING + "We train on clicks.", False), ("We train a model on clicks. Then rank.", True)],
)
def test_step_back_is_never_asked_after_a_clear_opening(feed: Question, answer: str, asked: bool) -> None:
    assert opening_states_idea(answer) is not asked
    move = decide(feed, {"step_back": 1, "business_value": 4}, [], overall=2, answer=answer)
    assert (move.target == "dimension:step_back") is asked


def test_no_wording_is_used_twice_and_variants_differ_between_sessions(feed: Question) -> None:
    scores = {"business_value": 1}
    said: list[str] = []
    for _ in DIMENSION_VARIANTS["business_value"]:
        move = decide(
            feed, scores, [], overall=2, answer="x", ctx=Context(said=tuple(said), limit=5, seed="s1")
        )
        assert move.target == "dimension:business_value" and move.text not in said
        said.append(move.text)
    exhausted = decide(
        feed, scores, [], overall=2, answer="x", ctx=Context(said=tuple(said), limit=5, seed="s1")
    )
    assert exhausted.target != "dimension:business_value"
    firsts = {
        decide(feed, scores, [], overall=2, answer="x", ctx=Context(limit=5, seed=f"s{i}")).text
        for i in range(8)
    }
    assert len(firsts) > 1


def test_a_probe_refers_to_the_candidates_own_words(feed: Question, corpus_services: Services) -> None:
    latest = "We would precompute candidate embeddings nightly and serve them from a key value store."
    data = load_interviewer(corpus_services.settings.corpus_dir)
    move = decide(
        feed,
        {"business_value": 5},
        [],
        overall=5,
        answer=latest,
        ctx=Context(refer=True, latest=latest),
        probes=list(data.depth_probes["ml_system_design"]),
    )
    assert move.text.startswith('You said "')
    excerpt = move.text.split('"')[1]
    assert excerpt and excerpt in latest


def test_stage_map_quotes_the_answer_verbatim_and_steers_to_missing_stages(
    feed: Question, corpus_services: Services
) -> None:
    data = load_interviewer(corpus_services.settings.corpus_dir)
    stages = data.stages["ml_system_design"]
    # (Cue words alone, "The goal is retention, our success metric.", only touch a stage.)
    answer = (
        "The goal is to raise 30-day retention of new users, our success metric.\n"
        "We log clicks as labels and fix the training data."
    )
    result = {s.id: s for s in stage_map(list(stages), answer, data.version)}
    assert result["problem_metric"].status == "covered" and result["data_labels"].status == "covered"
    assert result["serving_latency"].status == "missing" and not result["serving_latency"].quote
    assert all(s.quote in answer for s in result.values())
    missed = [tp.id for tp in feed.talking_points]
    move = decide(
        feed,
        {"business_value": 4, "step_back": 4},
        missed,
        overall=3,
        answer=answer,
        stages=list(result.values()),
        stage_defs=list(stages),
    )
    target = feed.talking_point(move.target.split(":", 1)[1])
    missing = [s for s in stages if result[s.id].status == "missing"]
    from app.scoring.stages import stage_cues

    assert target is not None and any(stage_cues(s, target.point) for s in missing)


def test_the_scorecard_and_summary_show_the_stage_map(interviews: InterviewSessions) -> None:
    step = interviews.start(
        InterviewConfig(track="ml_system_design", questions=1, follow_ups=0, focus=FEED_FOCUS)
    )
    step = interviews.answer(step.session_id, STRONG)
    card = Scorecard.model_validate(step.card)
    assert {s.status for s in card.stages} >= {"covered"} and all(s.quote in STRONG for s in card.stages)
    assert step.summary and step.summary.stages and "Design stages:" in step.messages[-1].text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(version="interviewer"), "interviewer.vN"),
        (lambda d: d["depth_probes"].pop("ml_theory"), "depth_probes lacks"),
        (
            lambda d: d["depth_probes"]["ml_theory"][0].update(text="Tell me about scale please."),
            "ending with '?'",
        ),
        (lambda d: d["stages"]["ml_system_design"][0].update(cues=["Goal", "x", "y"]), "lowercase"),
    ],
)
def test_a_broken_interviewer_file_is_refused_naming_the_file(
    tmp_path: Path, change: Any, words: str
) -> None:
    data = yaml.safe_load((ROOT / "corpus" / INTERVIEWER_FILE).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / INTERVIEWER_FILE
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CorpusError, match="interviewer.yaml") as err:
        load_interviewer(tmp_path)
    assert words in str(err.value)


def test_an_answer_to_another_problem_is_brought_back_to_the_question(
    feed: Question, corpus_services: Services
) -> None:
    fraud = (ROOT / "tests" / "data" / "fraud_strong.txt").read_text(encoding="utf-8")
    scorer = corpus_services.scorer("offline")
    first = scorer.score(fraud, question_id=QID, context=Context(limit=2, seed="s1"))
    assert first.off_topic is not None and first.next is not None
    assert first.next.target == "redirect:question"
    assert feed.question in first.next.text  # the question asked, in full
    assert "Design the system that decides, in real time" in first.next.text  # the one answered
    # Once redirected, the interviewer does not say it again; it probes as usual.
    again = scorer.score(
        fraud,
        question_id=QID,
        context=Context(probed=frozenset({"redirect:question"}), said=(first.next.text,), used=1, limit=2),
    )
    assert again.next is not None and again.next.target != "redirect:question"
    on_topic = scorer.score(STRONG, question_id=QID, context=Context(limit=2))
    assert on_topic.next is not None and on_topic.next.target != "redirect:question"
