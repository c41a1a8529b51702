"""Your documents: job descriptions and notes, ingested so an interview can focus on them.

Each user's documents are theirs alone: a folder per user under the data dir, and their chunks in
the store carry the owner, so search shows them to that user only. Without a login (owner None,
the single-user local mode) the documents folder is the one it always was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from app.errors import NotFoundError, UserInputError
from app.services import Services
from app.store import documents as stored_documents
from app.store.documents import ALLOWED
from app.store.ingest import MAX_FILE_BYTES, ingest


def documents_dir(services: Services, owner: str | None = None) -> Path:
    """The owner's documents folder (created when missing)."""
    return stored_documents.documents_dir(services.settings.data_dir, owner)


def list_documents(services: Services, owner: str | None = None) -> list[str]:
    """The owner's document names, sorted."""
    return sorted(
        p.name
        for p in documents_dir(services, owner).iterdir()
        if p.is_file() and p.suffix.lower() in ALLOWED
    )


def add_document(
    services: Services, upload_path: str | None, owner: str | None = None
) -> tuple[str, list[str]]:
    """Copy an uploaded file into the owner's folder and ingest it; a clear message on bad files."""
    if not upload_path:
        raise UserInputError("Choose a .md or .txt file to upload.")
    source = Path(upload_path)
    if source.suffix.lower() not in ALLOWED:
        raise UserInputError("Only .md and .txt files can be added (a job description or notes).")
    if source.stat().st_size > MAX_FILE_BYTES:
        raise UserInputError("That file is over 5 MB.")
    raw = source.read_bytes()
    if b"\x00" in raw[:8192]:
        raise UserInputError("That file is binary, not text.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError("That file is not UTF-8 text.") from None
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in source.name)[:80]
    target = documents_dir(services, owner) / name
    shutil.copyfile(source, target)
    report = ingest(services.store, [target], kind="document", owner=owner)
    return f"Added {name}: {report.chunks} chunks.", list_documents(services, owner)


def document_text(services: Services, name: str | None, owner: str | None = None) -> str:
    """The text of one of the owner's documents; another user's name is "not found" as any other."""
    if not name:
        return ""
    path = documents_dir(services, owner) / Path(name).name
    if not path.is_file() or path.suffix.lower() not in ALLOWED:
        raise NotFoundError(f"No document named {name} among your documents; upload it under Question bank.")
    return path.read_text(encoding="utf-8")
