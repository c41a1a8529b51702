"""Gradio's per-session state, with each block's config built when first needed (issue 16).

Gradio 6 builds a `SessionState` for every new browser tab or API client, and its constructor
builds the config of every block of the app (142 here) up front, only so that a deep link can
later replay them. Under 50 clients starting at once that was ~12 ms of server CPU per session
and about a seventh of the server's busy time (docs/PERFORMANCE.md). `LazySessionState` keeps the same fields
and behaviour but builds a block's config on first access, in the app's block order when all are
asked for. `install()` checks itself against Gradio's own class before it replaces it, and leaves
Gradio alone if the two disagree (a Gradio whose state holds other fields than the ones here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from copy import copy
from typing import Any

from gradio import state_holder

GradioSessionState = state_holder.SessionState


class LazyBlockConfigs(MutableMapping[int, dict[str, Any]]):
    """Block id -> its config, built on first read; iterates in the app's block order."""

    def __init__(self, ids: Iterable[int], build: Callable[[int], dict[str, Any]]) -> None:
        self._order = list(ids)
        self._known = set(self._order)
        self._built: dict[int, dict[str, Any]] = {}
        self._build = build

    def __getitem__(self, block_id: int) -> dict[str, Any]:
        if block_id not in self._built:
            if block_id not in self._known:
                raise KeyError(block_id)
            self._built[block_id] = self._build(block_id)
        return self._built[block_id]

    def __setitem__(self, block_id: int, config: dict[str, Any]) -> None:
        if block_id not in self._known:
            self._known.add(block_id)
            self._order.append(block_id)
        self._built[block_id] = config

    def __delitem__(self, block_id: int) -> None:
        if block_id not in self._known:
            raise KeyError(block_id)
        self._known.discard(block_id)
        self._order.remove(block_id)
        self._built.pop(block_id, None)

    def __contains__(self, block_id: object) -> bool:
        return block_id in self._known

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def built(self) -> int:
        """How many configs have been built so far (for tests)."""
        return len(self._built)


class LazySessionState(GradioSessionState):  # type: ignore[misc]
    """Gradio's SessionState with `config_values` built on demand instead of in the constructor."""

    def __init__(self, blocks: Any) -> None:  # deliberately not calling the eager constructor
        self.blocks_config = copy(blocks.default_config)
        config = self.blocks_config
        ids = [block_id for block_id in config.blocks if block_id in blocks.blocks]
        self.config_values = LazyBlockConfigs(  # type: ignore[assignment]  # a mapping, not a dict
            ids, lambda block_id: config.config_for_block(block_id, [], config.blocks[block_id])
        )
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def agrees_with_gradio(blocks: Any) -> bool:
    """Same fields, and the same block configs in the same order, as Gradio's own SessionState."""
    eager, lazy = GradioSessionState(blocks), LazySessionState(blocks)
    if set(vars(eager)) != set(vars(lazy)):
        return False
    return list(eager.components) == list(lazy.components)


def install(blocks: Any) -> bool:
    """Make Gradio build LazySessionState for new sessions of `blocks`; True when installed."""
    if state_holder.SessionState is LazySessionState:
        return True
    if not agrees_with_gradio(blocks):
        logging.getLogger("coach").warning(
            "this Gradio's session state differs from the one app/ui/session_state.py knows;"
            " keeping Gradio's own (each new session builds every block's config)"
        )
        return False
    state_holder.SessionState = LazySessionState  # type: ignore[misc]
    return True
