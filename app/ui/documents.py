"""Your documents: job descriptions and notes, ingested so an interview can focus on them."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.errors import UserInputError
from app.services import Services
from app.store.ingest import MAX_FILE_BYTES, ingest

ALLOWED = (".md", ".markdown", ".txt")


def documents_dir(services: Services) -> Path:
    folder = services.settings.data_dir / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def list_documents(services: Services) -> list[str]:
    return sorted(p.name for p in documents_dir(services).iterdir() if p.suffix.lower() in ALLOWED)


def add_document(services: Services, upload_path: str | None) -> tuple[str, list[str]]:
    """Copy an uploaded file into the data dir and ingest it; a clear message on bad files."""
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
    target = documents_dir(services) / name
    shutil.copyfile(source, target)
    report = ingest(services.store, [target], kind="document")
    return f"Added {name}: {report.chunks} chunks.", list_documents(services)


def document_text(services: Services, name: str | None) -> str:
    if not name:
        return ""
    path = documents_dir(services) / Path(name).name
    if not path.is_file():
        raise UserInputError(f"No document named {name}.")
    return path.read_text(encoding="utf-8")
