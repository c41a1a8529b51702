"""The pinned API endpoints through gradio_client against a launched server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_scoring import STRONG


@pytest.fixture(scope="module")
def client(corpus_server: str) -> Iterator[object]:
    from gradio_client import Client

    yield Client(corpus_server, verbose=False)


def test_endpoints_are_pinned(client: object) -> None:
    info = client.view_api(print_info=False, return_format="dict")  # type: ignore[attr-defined]
    names = set(info["named_endpoints"])
    assert {"/start_interview", "/answer", "/feedback", "/search"} <= names


def test_interview_over_the_api(client: object) -> None:
    started = client.predict("ml_system_design", "any", 2, 1, "", api_name="/start_interview")  # type: ignore[attr-defined]
    assert started["session_id"] and started["messages"][0].startswith("Question 1 of 2")
    step = client.predict(started["session_id"], "I would rank with a model of clicks.", api_name="/answer")  # type: ignore[attr-defined]
    assert step["scorecard"]["engine"] == "offline" and step["messages"]
    ended = client.predict(started["session_id"], "end", api_name="/answer")  # type: ignore[attr-defined]
    assert ended["done"] is True


def test_feedback_and_search_over_the_api(client: object) -> None:
    card = client.predict("msd-news-feed-ranking", "", STRONG, "", api_name="/feedback")  # type: ignore[attr-defined]
    assert card["overall"] >= 4 and all(q in STRONG for d in card["dimensions"] for q in d["evidence"])
    hits = client.predict("design a feed ranking system", 3, "any", "question", api_name="/search")  # type: ignore[attr-defined]
    assert len(hits) == 3 and hits[0]["track"] == "ml_system_design"


def test_bad_input_over_the_api_is_a_clear_error(client: object) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="no question with id"):
        client.predict("no-such-id", "", "an answer", "", api_name="/feedback")  # type: ignore[attr-defined]
