"""HTML mail → plain text, for reading only.

The console never renders customer HTML, so this only has to keep what a reader needs:
the words, paragraph breaks, list items and link targets. Scripts, styles and the head
are dropped whole; ``<blockquote>`` content is prefixed with ``> `` so the quote
stripper treats HTML replies exactly like plain-text ones.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "center", "form", "hr", "blockquote", "body",
}  # fmt: skip
_VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0
        self.links: list[tuple[str, int]] = []  # (href, length of text before the link)

    # -- structure ---------------------------------------------------------------------
    def _break(self) -> None:
        text = "".join(self.current)
        if self.pre_depth == 0:
            text = text.strip()
        prefix = "> " * self.quote_depth
        self.lines.append(prefix + text if text else prefix.rstrip())
        self.current = []

    def _soft_break(self) -> None:
        """End the current line unless it is empty (blocks don't stack blank lines)."""
        if "".join(self.current).strip():
            self._break()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        attr = dict(attrs)
        if tag == "br":
            self._break()
        elif tag == "li":
            self._soft_break()
            self.current.append("- ")
        elif tag == "blockquote":
            self._soft_break()
            self.quote_depth += 1
        elif tag in _BLOCK:
            self._soft_break()
            if tag == "pre":
                self.pre_depth += 1
            if tag == "hr":
                self.lines.append("-" * 20)
        elif tag == "img":
            alt = (attr.get("alt") or "").strip()
            if alt:
                self.current.append(f"[image: {alt}]")
        elif tag == "a":
            self.links.append((attr.get("href") or "", len("".join(self.current))))
        elif tag in ("td", "th"):
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.current)[start:].strip()
            # Keep the target only when it adds something the reader can't see.
            if href.startswith(("http://", "https://", "mailto:")) and href.removeprefix("mailto:") != label:
                self.current.append(f" <{href}>")
        elif tag == "blockquote":
            self._soft_break()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in _BLOCK or tag == "li":
            self._soft_break()
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            if tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"):
                self.lines.append("> " * self.quote_depth if self.quote_depth else "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._break()
                self.current.append(part)
            return
        text = _SPACES.sub(" ", data)
        if not "".join(self.current).strip():
            text = text.lstrip()
        self.current.append(text)

    def result(self) -> str:
        self._soft_break()
        out: list[str] = []
        for line in (ln.rstrip() for ln in self.lines):
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # collapse runs of blank lines
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.result()
