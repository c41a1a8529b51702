"""The corpus as data: it loads, validates, meets its counts, and is in our own words."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import CORPUS_DIR, SEEDS_DIR

from app.corpus.loader import check_corpus, load_bank, load_guides, load_question_file, load_rubric
from app.corpus.models import CODING_TRACKS, DIMENSIONS, TRACKS
from app.corpus.originality import shared_runs
from app.errors import CorpusError

MINIMUMS = {
    "ml_system_design": 40,
    "ml_theory": 30,
    "data_coding": 20,
    "coding_algorithms": 15,
    "mlops_production": 20,
    "career_narrative": 25,
}


def test_corpus_check_is_clean() -> None:
    assert check_corpus(CORPUS_DIR) == []


def test_every_track_meets_its_minimum() -> None:
    stats = load_bank(CORPUS_DIR).stats()
    assert set(stats) == set(TRACKS)
    for track, minimum in MINIMUMS.items():
        assert stats[track]["total"] >= minimum, track
    assert sum(row["total"] for row in stats.values()) >= 150


def test_each_track_mixes_difficulties() -> None:
    for track, row in load_bank(CORPUS_DIR).stats().items():
        assert all(row[d] >= 1 for d in ("easy", "medium", "hard")), track


def test_ids_are_unique_across_files() -> None:
    ids = []
    for path in (CORPUS_DIR / "questions").glob("*.yaml"):
        ids += [q["id"] for q in yaml.safe_load(path.read_text())["questions"]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_required_parts_present() -> None:
    for q in load_bank(CORPUS_DIR).questions.values():
        assert len(q.talking_points) >= 4 and len(q.red_flags) >= 2
        assert all(tp.follow_up.endswith("?") for tp in q.talking_points)
        if q.track in CODING_TRACKS:
            assert q.complexity and len(q.edge_cases or []) >= 2 and len(q.examples or []) >= 2


def test_rubric_has_every_dimension_with_anchors() -> None:
    rubric = load_rubric(CORPUS_DIR)
    assert rubric.id == f"rubric.communication.v{rubric.version}" and rubric.version >= 2
    assert [d.id for d in rubric.dimensions] == list(DIMENSIONS)
    for dim in rubric.dimensions:
        assert dim.anchors.one and dim.anchors.three and dim.anchors.five
        assert len(dim.examples.strong) > len(dim.examples.weak)


def test_rubric_declares_which_dimensions_each_track_scores() -> None:
    rubric = load_rubric(CORPUS_DIR)
    assert rubric.applicable("ml_system_design") == DIMENSIONS
    assert "business_value" not in rubric.applicable("ml_theory")
    assert "business_value" not in rubric.applicable("coding_algorithms")
    assert "tradeoffs" not in rubric.applicable("career_narrative")
    story = rubric.dimension("technical_coverage").meaning("career_narrative")
    assert story.name == "Evidence of impact" and "result" in story.definition


@pytest.mark.parametrize(
    "scores",
    [
        {"step_back": 4, "business_value": 4, "clarity": 4, "technical_coverage": 4, "tradeoffs": 4},
        {"step_back": 5, "clarity": 5, "technical_coverage": 1, "tradeoffs": 5},
        {"step_back": 1, "business_value": 2, "clarity": 5, "technical_coverage": 5},
        {"step_back": 3, "clarity": 2, "technical_coverage": 4, "tradeoffs": 1},
    ],
)
def test_overall_lies_between_the_lowest_and_highest_scored_dimension(scores: dict[str, int]) -> None:
    rule = load_rubric(CORPUS_DIR).overall
    assert min(scores.values()) <= rule.band(scores) <= max(scores.values())
    assert rule.band(scores) <= scores["technical_coverage"] + rule.max_above_coverage
    assert rule.band({d: 4 for d in scores}) == 4


def test_guides_present() -> None:
    names = {g.id for g in load_guides(CORPUS_DIR)}
    assert {
        "interview_loop",
        "step_back",
        "business_value",
        "career_narrative",
        "common_mistakes",
    } <= names


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix in {".yaml", ".md"})


@pytest.mark.skipif(not SEEDS_DIR.exists(), reason="../shared/seeds is not present (checked when it is)")
def test_no_twelve_word_run_shared_with_any_seed() -> None:
    seeds = [p.read_text(encoding="utf-8") for p in SEEDS_DIR.glob("*.txt")]
    assert seeds
    copied = {p.name: runs for p in corpus_files() if (runs := shared_runs(p.read_text(), seeds))}
    assert copied == {}


def test_originality_check_catches_a_copied_run() -> None:
    seed = "one two three four five six seven eight nine ten eleven twelve thirteen"
    assert shared_runs("prefix " + seed, [seed])
    assert not shared_runs("one two three four five six seven eight nine ten eleven", [seed])


def test_invalid_file_is_named_with_its_item(tmp_path: Path) -> None:
    data = yaml.safe_load((CORPUS_DIR / "questions" / "mlops_production.yaml").read_text())
    first = data["questions"][0]
    first["talking_points"][1]["follow_up"] = "not a question"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(CorpusError) as err:
        load_question_file(broken)
    message = str(err.value)
    assert "broken.yaml" in message and first["id"] in message and "follow_up" in message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\nquestions:\n  - id: [unclosed\n")
    with pytest.raises(CorpusError, match=r"bad.yaml: line \d+: malformed YAML"):
        load_question_file(bad)


def test_duplicate_id_across_files_is_reported(tmp_path: Path) -> None:
    (tmp_path / "questions").mkdir()
    source = (CORPUS_DIR / "questions" / "mlops_production.yaml").read_text()
    (tmp_path / "questions" / "a.yaml").write_text(source)
    (tmp_path / "questions" / "b.yaml").write_text(source)
    with pytest.raises(CorpusError, match="id already used"):
        load_bank(tmp_path)
