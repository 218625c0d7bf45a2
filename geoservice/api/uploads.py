"""Receiving a file upload (multipart/form-data) for an import: the role is checked by the caller before this
reads a byte; the file is written to a temporary directory (removed afterwards) under a fixed name with the
upload's suffix, so nothing the client names reaches the file system or GDAL."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request

from geoservice.errors import FieldError, InvalidInput

# Text parts beside the file (e.g. a YAML mapping) are small.
MAX_TEXT_PART = 200_000


@dataclass
class Upload:
    path: Path       # the saved file
    name: str        # the client's file name, for messages (never used as a path)
    texts: dict[str, str]


@asynccontextmanager
async def received_upload(request: Request, suffixes: tuple[str, ...], expected: str,
                          text_parts: tuple[str, ...] = ()) -> AsyncIterator[Upload]:
    """The upload's `file` part saved to a temporary file, and the named text parts (a part may also be sent
    as a small file)."""
    form = await request.form(max_files=1 + len(text_parts), max_fields=10)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput("file is missing", errors=[FieldError(
                "file", "send the file as multipart/form-data in a field named file")])
        name = Path(file.filename or "upload").name
        suffix = Path(name).suffix.lower()
        if suffix not in suffixes:
            raise InvalidInput(f"{name}: unsupported file type", errors=[FieldError("file", expected)])
        texts: dict[str, str] = {}
        for part in text_parts:
            value = form.get(part)
            if isinstance(value, UploadFile):
                value = (await value.read(MAX_TEXT_PART + 1)).decode("utf-8", errors="replace")
            if value is None:
                continue
            if len(value) > MAX_TEXT_PART:
                raise InvalidInput(f"{part} is too long", errors=[FieldError(part, f"at most {MAX_TEXT_PART} "
                                                                                   "characters")])
            texts[part] = value
        with tempfile.TemporaryDirectory(prefix="geoservice-import-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            with path.open("wb") as out:
                # Up to the upload limit (hundreds of MB) of blocking file I/O: off the event loop.
                await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
            yield Upload(path, name, texts)
    finally:
        await form.close()
