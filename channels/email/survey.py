"""One-click rating links under a survey question sent by email.

A survey question (``meta["survey"]`` on the outbound message) gets one link per score,
``{url}?score={n}``, in both parts, and the sentence ``link_text`` ("Or answer here:
{url}") after them. The link opens the hub's hosted answer page with that score chosen;
opening it records nothing (mail scanners follow links too): the customer confirms on
the page. A typed reply ("5") still answers the survey as well.

Everything in the HTML part is escaped, the hub's own sentences included; the row of
scores is a table with inline styles, which is what mail clients render reliably.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_SCORE = 10
_ARABIC = range(0x0600, 0x0700)
_BUTTON = (
    "display:inline-block;min-width:2.4em;padding:8px 0;text-align:center;"
    "border:1px solid #1d4ed8;border-radius:6px;color:#1d4ed8;text-decoration:none;"
    "font-weight:bold;font-family:Arial,sans-serif"
)


@dataclass(frozen=True, slots=True)
class RatingLinks:
    url: str  # the hosted answer page
    links: tuple[tuple[int, str], ...]  # (score, one-click link)
    link_text: str
    rtl: bool


def rating_links(survey: Any, question: str) -> RatingLinks | None:
    """The links for ``meta["survey"]``, or None when it has no usable page URL."""
    if not isinstance(survey, Mapping):
        return None
    url, low, high = survey.get("url"), survey.get("low"), survey.get("high")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    if (
        isinstance(low, bool)
        or isinstance(high, bool)
        or not isinstance(low, int)
        or not isinstance(high, int)
    ):
        return None
    if not 0 <= low <= high <= MAX_SCORE:
        return None
    link_text = survey.get("link_text")
    text = link_text if isinstance(link_text, str) and link_text.strip() else url
    join = "&" if "?" in url else "?"
    return RatingLinks(
        url=url,
        links=tuple((n, f"{url}{join}score={n}") for n in range(low, high + 1)),
        link_text=text.strip(),
        rtl=_writes_arabic(question) or _writes_arabic(text),
    )


def _writes_arabic(text: str) -> bool:
    return any(ord(ch) in _ARABIC for ch in text)


def text_part(body: str, links: RatingLinks) -> str:
    """The question, a line per score with its link, then the page's own link."""
    lines = [f"{n}: {link}" for n, link in links.links]
    return f"{body.rstrip()}\n\n" + "\n".join(lines) + f"\n\n{links.link_text}\n"


def html_block(links: RatingLinks) -> str:
    """The row of score buttons and the sentence with the page's link, escaped."""
    direction = "rtl" if links.rtl else "ltr"
    cells = "".join(
        f'<td style="padding:0 3px"><a href="{html.escape(link)}" style="{_BUTTON}">{n}</a></td>'
        for n, link in links.links
    )
    return (
        f'<div dir="{direction}" class="survey">'
        '<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:16px 0">'
        f"<tr>{cells}</tr></table>"
        f'<p style="font-family:Arial,sans-serif">{_linked(links.link_text, links.url)}</p></div>'
    )


def _linked(sentence: str, url: str) -> str:
    """``sentence`` escaped, with the URL in it made a link (appended when absent)."""
    before, found, after = sentence.partition(url)
    anchor = f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
    if not found:
        return f"{html.escape(sentence)} {anchor}" if sentence != url else anchor
    return f"{html.escape(before)}{anchor}{html.escape(after)}"
