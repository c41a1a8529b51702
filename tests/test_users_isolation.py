"""Issue 18, item 2: each user's documents (and sessions) are theirs alone.

Through the handler functions on one data folder, through gradio_client against a real
`coach serve` with two accounts, and in real Chromium with two browser contexts logged in as two
users. Another user's document or session answers "not found", exactly as an unknown one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_accounts import PASSWORDS, client
from test_accounts import two_user_server as server  # noqa: F401 - its fixture: `coach serve`, two users
from test_browser import ARGS, CHROMIUM
from test_interview import WEAK_ON_TOPIC

from app.errors import NotFoundError
from app.services import Services
from app.store.documents import reingest_documents
from app.ui import bank, documents

ADA_JD = "# Staff ML Engineer, Zebrafinch Payments\n\nYou will own quokka fraud scoring for card payments.\n"
BOB_JD = "# ML Engineer, Otter Maps\n\nYou will rank otter-friendly routes by travel time.\n"
WAIT = 30_000

# The documents panel, once filled: the user's files or the empty-state line.
LISTED = re.compile(r"No documents yet|\.(md|txt)")


def _upload(folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _document_sources(services: Services, owner: str | None, query: str) -> set[str]:
    rows, _ = bank.search_bank(services, query, "any", "document", 10, owner)
    return {str(row[-1]) for row in rows}


# -- the handlers, on one data folder -----------------------------------------------------------
@pytest.fixture
def three_owners(services: Services, tmp_path: Path) -> Services:
    """ada and bob each upload a jd.md of their own; the local mode (no login) one more."""
    documents.add_document(services, _upload(tmp_path / "a", "jd.md", ADA_JD), "ada")
    documents.add_document(services, _upload(tmp_path / "b", "jd.md", BOB_JD), "bob")
    documents.add_document(services, _upload(tmp_path / "n", "local.md", "# Local notes\n\nquokka\n"))
    return services


@pytest.mark.parametrize(
    ("owner", "names", "marker"),
    [("ada", ["jd.md"], "Zebrafinch"), ("bob", ["jd.md"], "Otter"), (None, ["local.md"], "Local notes")],
)
def test_each_owner_lists_and_reads_only_their_documents(
    three_owners: Services, owner: str | None, names: list[str], marker: str
) -> None:
    services = three_owners
    assert documents.list_documents(services, owner) == names
    assert marker in documents.document_text(services, names[0], owner)
    others = {"ada": "local.md", "bob": "local.md", None: "jd.md"}[owner]
    with pytest.raises(NotFoundError, match=f"No document named {others}"):
        documents.document_text(services, others, owner)


@pytest.mark.parametrize(
    ("owner", "sees", "never"),
    [
        ("ada", "user_documents/ada/jd.md", ("user_documents/bob/", "documents/local.md")),
        ("bob", "user_documents/bob/jd.md", ("user_documents/ada/", "documents/local.md")),
        (None, "documents/local.md", ("user_documents/",)),
    ],
)
def test_search_finds_only_the_owners_documents(
    three_owners: Services, owner: str | None, sees: str, never: tuple[str, ...]
) -> None:
    found = _document_sources(three_owners, owner, "quokka fraud scoring otter routes local notes")
    assert any(source.endswith(sees) for source in found), found
    assert not [s for s in found if any(part in s for part in never)], found


def test_a_new_collection_gets_every_users_documents_back_with_their_owners(
    three_owners: Services, tmp_path: Path
) -> None:
    """A new embedding model's collection starts empty; `coach ingest` embeds the corpus and the
    uploaded files again, so nobody's documents vanish from search (and stay theirs alone)."""
    services = three_owners
    documents.add_document(
        services, _upload(tmp_path / "c", "notes.md", "# Weasel notes\n\nquokka\n"), "Zoë K."
    )
    everyone = services.store.ids_by_source()
    uploaded = {src: ids for src, ids in everyone.items() if "documents/" in src}
    assert len(uploaded) == 4
    services.store.delete(set().union(*uploaded.values()))  # as an empty new collection
    assert not _document_sources(services, "ada", "quokka fraud scoring")
    warnings: list[str] = []
    report = reingest_documents(services.store, services.settings.data_dir, warnings.append)
    assert (report.documents, warnings) == (4, [])
    assert set(services.store.ids_by_source()) == set(everyone)
    for owner, own in (
        ("ada", "user_documents/ada/jd.md"),
        ("Zoë K.", "notes.md"),
        (None, "documents/local.md"),
    ):
        found = _document_sources(services, owner, "quokka fraud scoring weasel notes local notes")
        assert [s for s in found if s.endswith(own)], (owner, found)
        assert len(found) == 1, (owner, found)  # still only their own
    again = reingest_documents(services.store, services.settings.data_dir, warnings.append)
    assert (again.embedded, again.unchanged) == (0, report.chunks)  # nothing embedded twice


def test_a_user_name_cannot_reach_outside_the_documents_folder(services: Services, tmp_path: Path) -> None:
    # a COACH_AUTH user name may hold any character; it never becomes a path of its own
    odd = "../../etc"
    documents.add_document(services, _upload(tmp_path / "x", "notes.md", "# Odd\n\nquokka\n"), odd)
    folder = documents.documents_dir(services, odd)
    assert folder.parent == services.settings.data_dir / "user_documents"
    assert documents.list_documents(services, odd) == ["notes.md"]
    assert documents.list_documents(services, "etc") == [] and documents.list_documents(services) == []


# -- a real `coach serve` with two accounts (the `server` fixture) ---------------------------------
def test_another_users_document_is_not_found_through_the_api(server: str) -> None:  # noqa: F811
    ada, bob = client(server, "ada"), client(server, "bob")
    added = ada.predict(name="api-jd.md", text=ADA_JD, api_name="/add_document")
    assert "api-jd.md" in added["documents"] and added["message"].startswith("Added api-jd.md")
    assert "api-jd.md" in ada.predict(api_name="/documents")
    assert "api-jd.md" not in bob.predict(api_name="/documents")
    with pytest.raises(Exception, match="No document named api-jd.md"):
        bob.predict(
            track="ml_system_design", questions=1, focus_document="api-jd.md", api_name="/start_interview"
        )
    started = ada.predict(track="any", questions=1, focus_document="api-jd.md", api_name="/start_interview")
    assert started["session_id"] and started["messages"]
    query = "Zebrafinch quokka fraud scoring"
    found = ada.predict(query=query, k=5, kind="document", api_name="/search")
    assert any(hit["source"].endswith("ada/api-jd.md") for hit in found), found
    assert bob.predict(query=query, k=5, kind="document", api_name="/search") == []
    assert all(
        "user_documents" not in hit["source"] for hit in bob.predict(query=query, k=20, api_name="/search")
    )


def test_a_drill_belongs_to_the_user_who_practises_it(server: str) -> None:  # noqa: F811
    # a practice question (the drill buttons' API) is the user's session: in their list, theirs to
    # retry, and "not found" to anyone else
    ada, bob = client(server, "ada"), client(server, "bob")
    drill = ada.predict(question_id="msd-news-feed-ranking", follow_ups=2, api_name="/practice")
    sid = drill["session_id"]
    assert sid in [row["session_id"] for row in ada.predict(api_name="/sessions")]
    assert sid not in [row["session_id"] for row in bob.predict(api_name="/sessions")]
    ada.predict(session_id=sid, text=WEAK_ON_TOPIC, api_name="/answer")
    with pytest.raises(Exception, match=f"no session with id '{sid}'"):
        bob.predict(session_id=sid, api_name="/retry")
    again = ada.predict(session_id=sid, api_name="/retry")
    assert again["session_id"] == sid and again["messages"]


# -- two users in two browser contexts ------------------------------------------------------------
@pytest.mark.browser
def test_two_users_in_two_browsers_see_only_their_own(server: str, tmp_path: Path) -> None:  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed: browser tests skipped")
    from playwright.sync_api import expect, sync_playwright

    doc = Path(_upload(tmp_path, "ada-browser-jd.md", ADA_JD))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ada, bob = (_logged_in(browser, server, user) for user in ("ada", "bob"))
        # ada: an interview with one answer, and a document
        ada.locator("#start-interview").click()
        expect(ada.locator("#interview-chat")).to_contain_text("Question 1 of", timeout=WAIT)
        ada.locator("#answer-box textarea").fill(WEAK_ON_TOPIC)
        ada.locator("#send-answer").click()
        expect(ada.locator("#card-md")).to_contain_text("Overall", timeout=WAIT)
        ada.get_by_role("tab", name="Question bank").click()
        ada.get_by_text("Your documents (job descriptions, notes)").click()
        # The panel's content is ready once its listing is filled (files set earlier were lost).
        expect(ada.locator("#my-documents")).to_contain_text(LISTED, timeout=30_000)
        ada.locator("#doc-upload input[type=file]").set_input_files(str(doc))
        expect(ada.get_by_text("Added ada-browser-jd.md")).to_be_visible(timeout=WAIT)
        sid = client(server, "ada").predict(api_name="/sessions")[0]["session_id"]
        # bob: none of it on his Progress tab, in his documents, or his focus picker
        bob.get_by_role("tab", name="Progress").click()
        bob.locator("#progress-refresh").click()
        expect(bob.locator("#progress-drills")).to_contain_text("No sessions yet", timeout=WAIT)
        assert sid not in bob.locator("#progress-table").inner_text()
        bob.get_by_role("tab", name="Question bank").click()
        bob.get_by_text("Your documents (job descriptions, notes)").click()
        bob.wait_for_timeout(1000)  # the listing is filled when the panel opens
        assert "ada-browser-jd.md" not in bob.locator("body").inner_text()
        # ada, for contrast: her session on her Progress tab, her document in her list
        ada.get_by_role("tab", name="Progress").click()
        ada.locator("#progress-refresh").click()
        expect(ada.locator("#progress-table")).to_contain_text(sid, timeout=WAIT)
        browser.close()
    with pytest.raises(Exception, match=f"no session with id '{sid}'"):
        client(server, "bob").predict(session_id=sid, api_name="/resume")


def _logged_in(browser: Any, url: str, user: str) -> Any:
    """A page in its own browser context (its own cookies), logged in as user."""
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page.goto(url, wait_until="load")
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Login").click()
    page.locator("#start-interview").wait_for(timeout=WAIT)
    return page
