"""No follow-up wording twice in a session, also when the LLM engine rewords the planned one:
its final wording is checked against the session's earlier ones (normalised) and the planned
wording stands in when it repeats."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai_server import FakeOpenAI
from test_interview import WEAK_ON_TOPIC, feed_interview, llm_reply, make_services
from test_interviewer_retry import agrees_with_transcript

from app.interview.graph import normalised, repeats
from app.services import Services

SAME = "LLM: and what would that change for the business?"  # what the scripted model always says


@pytest.mark.parametrize(
    ("new", "said", "expected"),
    [
        ("What would that change for the business?", ["what would that change for the business"], True),
        (
            "  WHAT would that change,  for the business?! ",
            ["What would that change for the business?"],
            True,
        ),
        (
            'You said "clicks". What would that change for the business?',
            ["What would that change for the business?"],
            True,
        ),
        ("What would that change for the business?", ["How would you measure the drop in retention?"], False),
        ("Why?", ["Why? Because."], False),  # too short to call a containment a repeat
        ("Why?", ["why"], True),
        ("Anything else?", [], False),
    ],
)
def test_repeats_compares_normalised_wordings(new: str, said: list[str], expected: bool) -> None:
    assert repeats(new, said) is expected


def test_normalised_ignores_case_punctuation_and_spacing() -> None:
    assert normalised("  A/B test:  Which one?\n") == "a b test which one"


def test_the_llm_saying_the_same_follow_up_twice_is_not_asked_twice(
    tmp_path: Path, corpus_services: Services
) -> None:
    with FakeOpenAI(default=llm_reply) as server:
        services = make_services(
            tmp_path, corpus_services, openai_base_url=server.base_url, openai_api_key="sk-x", model="m"
        )
        interviews = services.interviews("llm")
        sid = feed_interview(interviews, questions=1, follow_ups=2)
        first = interviews.answer(sid, WEAK_ON_TOPIC)
        second = interviews.answer(sid, "We would look at engagement, I think.")
        phrasings = [r for r in server.requests if "planned follow-up" in r.body["messages"][0]["content"]]
    assert len(phrasings) == 2  # the model was asked to phrase both, and said the same both times
    one, two = first.messages[0], second.messages[0]
    assert one.kind == two.kind == "follow_up" and one.text == SAME
    assert not repeats(two.text, [one.text])
    assert second.card is not None and second.card.next is not None
    assert two.text == second.card.follow_up == second.card.next.text  # the card shows what was asked
    follow_ups = [t.text for t in interviews.db.turns(sid) if t.kind == "follow_up"]
    assert follow_ups == [one.text, two.text]
    assert agrees_with_transcript(interviews, sid)
