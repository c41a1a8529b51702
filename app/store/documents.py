"""Where uploaded documents live on disk, and putting them back into a new collection.

Each user's uploads are kept as files under the data dir (the single-user mode's in `documents/`,
a logged-in user's in `user_documents/<folder>/`, with the owner's name in `.owner`), so the store
can always be rebuilt from them: when the embedding model changes, its collection starts empty,
and `coach ingest` embeds the corpus and these files again, each with its owner.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from app.store.ingest import IngestReport, ingest
from app.store.vectors import CorpusStore

ALLOWED = (".md", ".markdown", ".txt")
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # as `coach users` names are
OWNER_FILE = ".owner"


def owner_folder(owner: str) -> str:
    """A folder name for a user: the name itself when it is a plain account name, else a digest
    (a COACH_AUTH name may hold any character, and must not reach outside the folder)."""
    if PLAIN_NAME.fullmatch(owner):
        return owner
    return "user-" + hashlib.sha256(owner.encode("utf-8")).hexdigest()[:24]


def documents_dir(data_dir: Path, owner: str | None = None) -> Path:
    """The owner's documents folder (created when missing, with the owner's name recorded)."""
    if owner is None:
        folder = data_dir / "documents"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = data_dir / "user_documents" / owner_folder(owner)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / OWNER_FILE
    if not marker.exists():
        marker.write_text(owner, encoding="utf-8")
    return folder


def document_folders(data_dir: Path, warn: Callable[[str], None]) -> list[tuple[Path, str | None]]:
    """Every documents folder with its owner; a folder whose owner cannot be told is skipped."""
    found: list[tuple[Path, str | None]] = []
    if (data_dir / "documents").is_dir():
        found.append((data_dir / "documents", None))
    users = data_dir / "user_documents"
    for folder in sorted(users.iterdir()) if users.is_dir() else []:
        if not folder.is_dir():
            continue
        marker = folder / OWNER_FILE
        if marker.is_file():
            found.append((folder, marker.read_text(encoding="utf-8")))
        elif PLAIN_NAME.fullmatch(folder.name) and not folder.name.startswith("user-"):
            found.append((folder, folder.name))
        else:
            warn(f"skipped {folder}: its owner is not recorded; they can upload those documents again")
    return found


def reingest_documents(store: CorpusStore, data_dir: Path, warn: Callable[[str], None]) -> IngestReport:
    """Embed every user's uploaded files again (unchanged ones cost nothing), each with its owner."""
    total = IngestReport()
    for folder, owner in document_folders(data_dir, warn):
        files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in ALLOWED]
        if files:
            report = ingest(store, files, kind="document", owner=owner, warn=warn)
            total = total.plus(report)
    return total
