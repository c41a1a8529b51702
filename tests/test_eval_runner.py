"""`coach eval`: the repo's offline suites gate CI; bad input exits 2; datasets report metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.evaluation.metrics import pearson, quadratic_weighted_kappa, spearman
from app.services import Services

SUITES = Path(__file__).parent.parent / "evals" / "suites"


@pytest.fixture
def eval_env(corpus_services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("COACH_DATA_DIR", str(corpus_services.settings.data_dir))
    monkeypatch.setattr("app.evaluation.report.REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr("app.evaluation.command.write_reports", _writer(tmp_path / "reports"))
    return tmp_path / "reports"


def _writer(folder: Path):  # type: ignore[no-untyped-def]
    from app.evaluation import report

    def write(name, data, markdown, html_page):  # type: ignore[no-untyped-def]
        return report.write_reports(name, data, markdown, html_page, folder)

    return write


@pytest.mark.parametrize("suite", sorted(p.name for p in SUITES.glob("*.yaml")))
def test_repo_suites_pass_offline(eval_env: Path, suite: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(SUITES / suite), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["passed"] and out["score"] >= out["threshold"]
    assert any(p.suffix == ".md" for p in eval_env.iterdir()) and any(
        p.suffix == ".json" for p in eval_env.iterdir()
    )


def test_rerun_of_unchanged_suite_makes_no_model_calls(
    eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = str(SUITES / "feedback.smoke.v1.yaml")
    main(["eval", suite, "--json"])
    capsys.readouterr()
    main(["eval", suite, "--json"])
    assert json.loads(capsys.readouterr().out)["model_calls"] == 0


def test_failing_threshold_exits_1(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "strict.v1.yaml"
    suite.write_text(
        "name: strict.v1\nthreshold: 1.0\ncases:\n  - id: weak\n    question_id: msd-news-feed-ranking\n"
        "    answer: I would use a model.\n    assert:\n      - {type: score_range, dimension: overall, min: 5, max: 5}\n"
    )
    assert main(["eval", str(suite), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["passed"] is False


@pytest.mark.parametrize(
    "content, message",
    [
        ("name: [unclosed\n", "malformed YAML"),
        ("name: noversion\ncases: []\n", "name"),
        (
            "name: x.v1\ncases:\n  - id: a\n    question_id: q\n    answer: x\n    assert:\n      - {type: nope}\n",
            "cases",
        ),
    ],
)
def test_bad_suite_exits_2_with_one_line(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    suite = tmp_path / "bad.yaml"
    suite.write_text(content)
    assert main(["eval", str(suite)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_dataset_mode_reports_metrics_with_intervals(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "qid": "msd-news-feed-ranking",
            "text": (Path(__file__).parent / "../evals/suites/answers/feed_strong.txt").read_text(),
            "grade": 1.0,
        },
        {"qid": "msd-news-feed-ranking", "text": "I would use a neural network and deploy it.", "grade": 0.2},
        {"qid": "msd-news-feed-ranking", "text": "", "grade": 0.0},
        {
            "qid": "msd-news-feed-ranking",
            "text": "We rank posts by a model of likes and comments, measured by retention.",
            "grade": 0.5,
        },
    ]
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    code = main(
        [
            "eval",
            "--dataset",
            str(data),
            "--question-id-col",
            "qid",
            "--answer-col",
            "text",
            "--label-col",
            "grade",
            "--label-scale",
            "0:1",
            "--json",
            "--html",
        ]
    )
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 4 and metrics["spearman"]["value"] > 0.5
    assert len(metrics["pearson"]["ci95"]) == 2
    assert any(p.suffix == ".html" and "<svg" in p.read_text() for p in eval_env.iterdir())


@pytest.mark.parametrize(
    "write, args, message",
    [
        (
            lambda p: p.write_text("a,b\n1,2\n"),
            ["--answer-col", "answer", "--label-col", "b", "--question-col", "a"],
            "missing column",
        ),
        (
            lambda p: p.write_bytes(b"\xff\xfe\x00bad"),
            ["--answer-col", "a", "--label-col", "b", "--question-col", "c"],
            "UTF-8",
        ),
        (lambda p: None, ["--answer-col", "a", "--label-col", "b", "--question-col", "c"], "no such dataset"),
    ],
)
def test_bad_dataset_exits_2(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], write, args, message
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "data.csv"
    write(path)
    assert main(["eval", "--dataset", str(path), *args]) == 2
    assert message in capsys.readouterr().err


def test_metrics_on_known_values() -> None:
    import numpy as np

    x, y = np.array([1, 2, 3, 4, 5]), np.array([1, 2, 3, 4, 5])
    assert pearson(x, y) == pytest.approx(1) and spearman(x, y[::-1]) == pytest.approx(-1)
    assert quadratic_weighted_kappa(x, y) == pytest.approx(1)
    assert quadratic_weighted_kappa(np.array([1, 1, 1, 1]), np.array([1, 2, 4, 5])) == pytest.approx(0)


def test_simulated_candidates_pass_their_criteria(eval_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--simulate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    personas = result["personas"]
    assert set(personas) == {
        "strong",
        "weak",
        "rambling",
        "jargon_first",
        "empty",
        "gibberish",
        "repeats_question",
        "injection",
    }
    assert all(personas["strong"] > v for k, v in personas.items() if k != "strong")
    assert result["problems"] == {} and result["ordering_problems"] == []


def test_simulation_catches_a_leaking_interviewer(corpus_services: Services) -> None:
    from app.evaluation.simulate import hidden_notes

    question = corpus_services.bank.get("msd-news-feed-ranking")
    notes = hidden_notes(question)
    assert question.strong_answer.summary in notes and question.talking_points[0].point in notes


def test_llm_suite_rerun_is_served_from_the_cache(
    eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from openai_server import FakeOpenAI
    from test_llm_engine import judge_reply

    with FakeOpenAI(default=lambda body: judge_reply(quote="no such quote")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        suite = str(SUITES / "feedback.smoke.v1.yaml")
        main(["eval", suite, "--engine", "llm", "--json"])
        first = json.loads(capsys.readouterr().out)
        calls_after_first = len(server.requests)
        main(["eval", suite, "--engine", "llm", "--json"])
        second = json.loads(capsys.readouterr().out)
    assert first["model_calls"] == 4 and calls_after_first >= 4
    assert second["model_calls"] == 0 and len(server.requests) == calls_after_first
