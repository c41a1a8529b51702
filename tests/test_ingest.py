from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEEDS_DIR

from app.errors import UserInputError
from app.services import Services
from app.store.ingest import ingest

DOCS = {
    "feeds.md": "# Feed ranking\n\nWe rank posts in the home feed by predicted engagement, "
    "using a two-stage system: candidate generation then a ranking model.\n",
    "drift.md": "# Monitoring\n\nWhen the input distribution shifts after launch, alerts fire "
    "and the model is retrained on recent data.\n",
    "salary.txt": "Negotiating an offer: research market pay and anchor on the value you bring.\n",
}


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_paraphrased_query_finds_the_intended_document(services: Services, tmp_path: Path) -> None:
    ingest(services.store, [write_docs(tmp_path / "docs")])
    hits = services.store.search("how do you order items in a social timeline?", k=1)
    assert hits[0].source.endswith("feeds.md")
    hits = services.store.search("data changes in production so accuracy drops", k=1)
    assert hits[0].source.endswith("drift.md")


def test_reingest_of_unchanged_folder_embeds_nothing(services: Services, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    first = ingest(services.store, [docs])
    assert first.embedded == first.chunks == 3 and first.documents == 3
    second = ingest(services.store, [docs])
    assert (second.embedded, second.unchanged, second.removed) == (0, 3, 0)
    assert services.store.count() == 3


def test_changed_file_replaces_its_chunks(services: Services, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    ingest(services.store, [docs])
    (docs / "salary.txt").write_text("Offers: ask for the full compensation breakdown.\n")
    report = ingest(services.store, [docs])
    assert (report.embedded, report.removed) == (1, 1)
    assert services.store.count() == 3


def test_deleted_file_chunks_disappear(services: Services, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    ingest(services.store, [docs])
    (docs / "drift.md").unlink()
    report = ingest(services.store, [docs])
    assert report.removed == 1
    assert all(not h.source.endswith("drift.md") for h in services.store.search("drift", k=5))


def test_ingesting_another_folder_keeps_the_first(services: Services, tmp_path: Path) -> None:
    ingest(services.store, [write_docs(tmp_path / "a")])
    other = tmp_path / "b"
    other.mkdir()
    (other / "jd.md").write_text("# Job description\n\nWe need an MLE for search ranking.\n")
    report = ingest(services.store, [other])
    assert report.removed == 0 and services.store.count() == 4


def test_bad_files_warn_and_ingest_goes_on(services: Services, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    (docs / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (docs / "empty.md").write_text("   \n")
    warnings: list[str] = []
    report = ingest(services.store, [docs], warn=warnings.append)
    assert report.chunks == 3
    assert any("image.md" in w and "binary" in w for w in warnings)
    assert any("latin1.txt" in w and "UTF-8" in w for w in warnings)
    assert any("empty.md" in w for w in warnings)


def test_malformed_yaml_warns_and_keeps_previous_chunks(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    good = Path(__file__).parent.parent / "corpus" / "rubrics" / "communication.yaml"
    target = folder / "communication.yaml"
    target.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    first = ingest(services.store, [folder])
    assert first.chunks == 5
    target.write_text("dimensions: [unclosed\n  - x: : y\n", encoding="utf-8")
    warnings: list[str] = []
    second = ingest(services.store, [folder], warn=warnings.append)
    assert any("communication.yaml" in w and "malformed YAML" in w for w in warnings)
    assert second.removed == 0 and services.store.count() == 5


@pytest.mark.parametrize("make", ["missing", "empty_dir"])
def test_missing_or_empty_path_is_a_user_error(services: Services, tmp_path: Path, make: str) -> None:
    path = tmp_path / "nothing"
    if make == "empty_dir":
        path.mkdir()
    with pytest.raises(UserInputError):
        ingest(services.store, [path])


def test_long_document_is_split_by_tokens(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    paragraphs = [f"Paragraph {i} talks about topic {i} in feature engineering. " * 8 for i in range(40)]
    (folder / "notes.md").write_text("# Notes\n\n" + "\n\n".join(paragraphs))
    report = ingest(services.store, [folder])
    assert report.chunks > 5
    from app.tokens import count_tokens

    hits = services.store.search("topic 17 feature engineering", k=3)
    assert all(count_tokens(h.text) <= 300 for h in hits)


@pytest.mark.skipif(not SEEDS_DIR.exists(), reason="../shared/seeds is not present")
def test_seed_articles_ingest_and_answer_queries(services: Services) -> None:
    report = ingest(services.store, [SEEDS_DIR], kind="document")
    assert report.documents == 4 and report.chunks >= 8
    hits = services.store.search("which interview modules does an MLE loop have?", k=3, kind="document")
    assert any("001_" in h.source for h in hits)


def test_a_store_of_an_earlier_embedding_model_says_why_it_is_empty(tmp_path: Path) -> None:
    """After the embedding model changes, its collection starts empty: the message says so."""
    from app.config import Settings
    from app.store.vectors import COLLECTION, CorpusStore, open_client

    settings = Settings(data_dir=tmp_path)
    assert CorpusStore.open(settings).empty_message() == "the store is empty: run `coach ingest` first"
    old = open_client(settings).get_or_create_collection(f"{COLLECTION}__all-MiniLM-L6-v2-onnx-int8")
    old.add(ids=["a"], documents=["an old chunk"], embeddings=[[0.1] * 384])
    message = CorpusStore.open(settings).empty_message()
    assert "no vectors of the current embedding model" in message and "`coach ingest`" in message


def test_the_interviewer_data_is_validated_at_ingest_and_not_searched(
    services: Services, tmp_path: Path
) -> None:
    """It used to be skipped with a warning on every `coach ingest`; now it is checked quietly."""
    from app.config import PROJECT_ROOT

    good = tmp_path / "good" / "interviewer.yaml"
    good.parent.mkdir()
    good.write_text(
        (PROJECT_ROOT / "corpus" / "interviewer" / "interviewer.yaml").read_text(encoding="utf-8")
    )
    warnings: list[str] = []
    report = ingest(services.store, [good.parent], warn=warnings.append)
    assert (report.chunks, warnings) == (0, [])
    bad = tmp_path / "bad" / "interviewer.yaml"
    bad.parent.mkdir()
    bad.write_text("version: interviewer.v1\nstages: 3\n", encoding="utf-8")
    ingest(services.store, [bad.parent], warn=warnings.append)
    assert len(warnings) == 1 and "interviewer.yaml" in warnings[0] and "stages" in warnings[0]
