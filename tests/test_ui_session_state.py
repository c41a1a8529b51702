"""Gradio's per-session state built lazily (app/ui/session_state.py, issue 16 item 15)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gradio import state_holder

from app.services import Services
from app.ui import session_state
from app.ui.app import build_app


@pytest.fixture(scope="module")
def demo(corpus_services: Services) -> Any:
    return build_app(corpus_services)


@pytest.fixture
def restore_gradio() -> Iterator[None]:
    original = state_holder.SessionState
    yield
    state_holder.SessionState = original  # type: ignore[misc]


def test_a_new_session_builds_no_block_config_until_asked(demo: Any) -> None:
    state = session_state.LazySessionState(demo)
    configs = state.config_values
    assert isinstance(configs, session_state.LazyBlockConfigs)
    assert configs.built() == 0 and len(configs) == len(demo.blocks) > 100
    first = next(iter(demo.blocks))
    assert first in configs and configs.built() == 0  # asking whether it is there builds nothing
    assert configs[first]["id"] == first and configs.built() == 1


def test_it_matches_gradios_own_state_field_for_field(demo: Any) -> None:
    eager, lazy = session_state.GradioSessionState(demo), session_state.LazySessionState(demo)
    assert set(vars(eager)) == set(vars(lazy))
    assert list(eager.components) == list(lazy.components)  # same configs, same block order
    assert eager.STATE_TTL_WHEN_CLOSED == lazy.STATE_TTL_WHEN_CLOSED


def test_updates_reach_the_config_as_in_gradio(demo: Any) -> None:
    textbox = next(k for k, b in demo.blocks.items() if type(b).__name__ == "Textbox")
    eager, lazy = session_state.GradioSessionState(demo), session_state.LazySessionState(demo)
    for state in (eager, lazy):
        state._update_value_in_config(textbox, "typed by the candidate")
    assert lazy.config_values[textbox] == eager.config_values[textbox]
    assert lazy.config_values[textbox]["props"]["value"] == "typed by the candidate"
    with pytest.raises(KeyError):
        lazy.config_values[10**9]  # noqa: B018  (an unknown block stays unknown)


def test_install_replaces_gradios_class_once_and_new_sessions_use_it(demo: Any, restore_gradio: None) -> None:
    assert session_state.install(demo) is True
    assert state_holder.SessionState is session_state.LazySessionState
    assert session_state.install(demo) is True  # idempotent
    holder = state_holder.StateHolder()
    holder.set_blocks(demo)
    assert isinstance(holder["a-new-browser-tab"], session_state.LazySessionState)


def test_install_leaves_gradio_alone_when_its_state_differs(
    demo: Any, restore_gradio: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FutureState(session_state.GradioSessionState):  # type: ignore[misc]
        def __init__(self, blocks: Any) -> None:
            super().__init__(blocks)
            self.new_field_of_a_later_gradio = True

    monkeypatch.setattr(session_state, "GradioSessionState", FutureState)
    monkeypatch.setattr(state_holder, "SessionState", FutureState)
    assert session_state.install(demo) is False
    assert state_holder.SessionState is FutureState
