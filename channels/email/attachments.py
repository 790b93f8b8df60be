"""Attachment storage: content-addressed files under one directory, with limits.

A file is named by the SHA-256 of its bytes, so the same logo in a hundred replies is
stored once, a redelivered mail writes nothing new, and no sender-chosen name ever
reaches the file system. Over-size or denied files are not written; the message is
still ingested and lists them with the reason.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from channels.email.parse import MailPart
from hub.domain import Attachment

# Executables announce themselves whatever the sender calls them.
_MAGIC = {b"MZ": "application/x-msdownload", b"\x7fELF": "application/x-executable"}


@dataclass(frozen=True, slots=True)
class Rejected:
    filename: str
    content_type: str
    size: int
    reason: str

    def as_meta(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "reason": self.reason,
        }


class AttachmentStore:
    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        denied_extensions: tuple[str, ...],
        denied_content_types: tuple[str, ...],
        allowed_content_types: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.denied_extensions = frozenset(e.lower() for e in denied_extensions)
        self.denied_content_types = frozenset(t.lower() for t in denied_content_types)
        self.allowed_content_types = tuple(t.lower() for t in allowed_content_types)

    def rejection(self, part: MailPart) -> str | None:
        """Why ``part`` may not be stored, or None."""
        size = len(part.data)
        if size > self.max_bytes:
            return f"too large ({size} bytes; the limit is {self.max_bytes})"
        # "invoice.pdf.exe " runs as .exe on Windows: judge the last real suffix.
        suffix = PurePosixPath(part.filename.strip().rstrip(". ")).suffix.lower()
        if suffix and suffix in self.denied_extensions:
            return f"file type {suffix} is not accepted"
        declared = part.content_type.lower()
        sniffed = next((t for magic, t in _MAGIC.items() if part.data.startswith(magic)), None)
        for ctype in filter(None, (declared, sniffed)):
            if ctype in self.denied_content_types:
                return f"content type {ctype} is not accepted"
        if self.allowed_content_types and not any(_matches(declared, p) for p in self.allowed_content_types):
            return f"content type {declared} is not in allowed_content_types"
        return None

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def save(self, part: MailPart) -> Attachment | Rejected:
        """Blocking file I/O: call from a worker thread."""
        reason = self.rejection(part)
        if reason is not None:
            return Rejected(part.filename, part.content_type, len(part.data), reason)
        digest = hashlib.sha256(part.data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half file under the final name.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(part.data)
                os.chmod(tmp, 0o640)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return Attachment(
            filename=part.filename, content_type=part.content_type, size=len(part.data), path=str(path)
        )

    def contains(self, path: str | Path) -> bool:
        """True when ``path`` lies inside this store (never follow a path out of it)."""
        try:
            return Path(path).resolve().is_relative_to(self.root.resolve())
        except (OSError, ValueError):
            return False


def _matches(ctype: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return ctype.startswith(pattern[:-1])
    return ctype == pattern
