"""Files visitors upload: size and type limits, content-addressed storage.

An upload is stored at ``<data_dir>/attachments/webchat/<aa>/<sha256>`` (no
visitor-chosen name touches the file system; the same file twice is stored once)
and answered with a signed *reference* bound to the visitor. A message then cites
references, so the socket never carries file bytes and a visitor cannot attach a
file someone else uploaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

from channels.webchat import tokens
from channels.webchat.errors import WebchatError
from hub.domain import Attachment

# What a type must start with when it claims to be one of these: a renamed
# executable or HTML page is refused even when its declared type is allowed.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!")


def _matches(ctype: str, pattern: str) -> bool:
    return ctype.startswith(pattern[:-1]) if pattern.endswith("/*") else ctype == pattern


def clean_filename(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "file"


class UploadStore:
    def __init__(self, root: Path, *, max_bytes: int, allowed_types: tuple[str, ...], secret: bytes) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types
        self._secret = secret

    def check_type(self, content_type: str) -> str:
        ctype = content_type.split(";")[0].strip().lower()
        if not any(_matches(ctype, p) for p in self.allowed_types):
            raise WebchatError(
                415,
                "file_type_not_allowed",
                f"files of type {ctype or 'unknown'} are not accepted here "
                f"(allowed: {', '.join(self.allowed_types)})",
            )
        return ctype

    async def receive(self, chunks: AsyncIterator[bytes], declared_size: int | None) -> bytes:
        if declared_size is not None and declared_size > self.max_bytes:
            raise self._too_large()
        data = bytearray()
        async for chunk in chunks:
            data += chunk
            if len(data) > self.max_bytes:
                raise self._too_large()
        if not data:
            raise WebchatError(422, "empty_file", "the file is empty")
        return bytes(data)

    def _too_large(self) -> WebchatError:
        mb = self.max_bytes / 1_000_000
        return WebchatError(413, "file_too_large", f"the file is larger than the {mb:g} MB limit")

    def save(self, data: bytes, ctype: str) -> str:
        """Blocking I/O: run in a thread. Returns the SHA-256 hex digest."""
        if data.startswith(_EXECUTABLE):
            raise WebchatError(415, "file_type_not_allowed", "programs and scripts are not accepted")
        signatures = _SIGNATURES.get(ctype)
        if signatures and not data.startswith(signatures):
            raise WebchatError(415, "file_content_mismatch", f"the file's content is not {ctype}")
        if ctype == "image/webp" and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise WebchatError(415, "file_content_mismatch", "the file's content is not image/webp")
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o640)
                os.replace(tmp, path)  # never a half-written file under the final name
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def reference(self, visitor_id: str, digest: str, filename: str, ctype: str, size: int) -> str:
        return tokens.sign(
            self._secret,
            tokens.ATTACHMENT,
            {"v": visitor_id, "d": digest, "n": filename, "c": ctype, "z": size},
        )

    def resolve(self, visitor_id: str, ref: str) -> Attachment:
        try:
            data = tokens.unsign(self._secret, tokens.ATTACHMENT, ref)
        except tokens.TokenError:
            raise WebchatError(
                422, "bad_attachment", "an attachment reference is invalid; upload again"
            ) from None
        digest = data.get("d")
        if data.get("v") != visitor_id or not isinstance(digest, str) or len(digest) != 64:
            raise WebchatError(422, "bad_attachment", "an attachment reference is invalid; upload again")
        path = self.path_for(digest)
        if not path.is_file():
            raise WebchatError(422, "bad_attachment", "an uploaded file is no longer stored; upload again")
        return Attachment(
            filename=str(data.get("n") or "file"),
            content_type=str(data.get("c") or "application/octet-stream"),
            size=int(data.get("z") or 0),
            path=str(path.resolve()),
        )
