"""Question-bank tab handlers, without a browser."""

from __future__ import annotations

import pytest

from app.errors import UserInputError
from app.services import Services
from app.ui import bank


def test_search_returns_rows_with_sources(corpus_services: Services) -> None:
    rows, status = bank.search_bank(corpus_services, "design a feed ranking system", "any", "question", 5)
    assert len(rows) == 5 and status.startswith("5 results")
    assert all(row[2] == "question" for row in rows)
    assert all(str(row[7]).startswith("corpus/questions/") for row in rows)
    assert all(row[6] for row in rows)
    assert rows[0][3] == "ml_system_design"


def test_search_filters_by_track(corpus_services: Services) -> None:
    rows, _ = bank.search_bank(
        corpus_services, "tell me about switching careers", "career_narrative", "any", 8
    )
    assert rows and {row[3] for row in rows} == {"career_narrative"}


@pytest.mark.parametrize("query", ["", "   ", "x" * 501])
def test_bad_queries_get_a_clear_message(corpus_services: Services, query: str) -> None:
    with pytest.raises(UserInputError):
        bank.search_bank(corpus_services, query, "any", "any", 5)


def test_html_in_a_query_is_escaped_in_the_status(corpus_services: Services) -> None:
    _, status = bank.search_bank(corpus_services, "<script>alert(1)</script> ranking", "any", "any", 3)
    assert "<script>" not in status and "&lt;script&gt;" in status


def test_browse_and_show_question(corpus_services: Services) -> None:
    listing = bank.list_questions(corpus_services, "ml_theory", "hard")
    assert listing and all(row[1] == "ml_theory" and row[2] == "hard" for row in listing)
    detail = bank.show_question(corpus_services, str(listing[0][0]))
    assert "Talking points" in detail and "Business value" in detail
    assert "not a bank question" in bank.show_question(corpus_services, "no-such-id")
    assert "Pick a question" in bank.show_question(corpus_services, "")


def test_app_builds_with_pinned_search_endpoint(corpus_services: Services) -> None:
    from app.ui.app import build_app

    demo = build_app(corpus_services)
    api_names = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert "search" in api_names
