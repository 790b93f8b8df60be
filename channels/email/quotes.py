"""What the agent reads: the new part of a reply, without quoted history or signature.

Mail clients quote the whole thread under every reply; agents need the few new lines.
The full original text is always kept beside the stripped one, so a wrong guess here
hides nothing for good. Recognized: "On … wrote:" (Gmail, Apple Mail, Thunderbird, in
English, Arabic, French, German, Spanish), Outlook's "-----Original Message-----" and
its "From:/Sent:/Subject:" header block, trailing "> " quoted blocks, the "-- "
signature delimiter and the mobile "Sent from my …" footers. Forwarded messages are
not quotes: the customer wants us to read them.
"""

from __future__ import annotations

import re

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_F = re.IGNORECASE

# A line (or two joined lines: Gmail wraps long headers) that introduces a quote.
_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,400}\bwrote\s*:\s*$", _F),
    re.compile(r"^\s*(?:في|فى)\s.{0,400}كتب.{0,200}:\s*$", _F),
    re.compile(r"^\s*Le\s.{0,400}\sa\s+écrit\s*:\s*$", _F),
    re.compile(r"^\s*Am\s.{0,400}\sschrieb.{0,200}:\s*$", _F),
    re.compile(r"^\s*El\s.{0,400}\sescribió\s*:\s*$", _F),
]
_SEPARATOR = [
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", _F),
    re.compile(r"^\s*-{2,}\s*الرسالة الأصلية\s*-{2,}\s*$", _F),
    re.compile(r"^\s*-{2,}\s*(?:Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$", _F),
]
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:From|De|Von|من)\s*:\*?\s*\S", _F)
_OUTLOOK_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Enviado|تاريخ الإرسال|أرسلت|التاريخ)\s*:", _F
)
_OUTLOOK_SUBJECT = re.compile(r"^\s*\*?(?:Subject|Objet|Betreff|Asunto|الموضوع)\s*:", _F)
_FORWARD_MARK = re.compile(
    r"^\s*(?:-{3,}\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|رسالة مُعاد توجيهها)\s*-{3,}"
    r"|Begin forwarded message:)\s*$",
    _F,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:Fwd?|FW|TR|WG|RV|إعادة توجيه)\s*:", _F)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \S.*|Sent from Mail for Windows.*|Get Outlook for \S.*|"
    r"أُ?رسلت? من (?:الـ ?)?(?:iPhone|آيفون|جهاز).*)$",
    _F,
)


def _norm(line: str) -> str:
    return _BIDI.sub("", line)


def _is_attribution(line: str) -> bool:
    return any(p.match(line) for p in _ATTRIBUTION)


def _is_outlook_block(lines: list[str], i: int) -> bool:
    if not _OUTLOOK_FROM.match(lines[i]):
        return False
    window = lines[i + 1 : i + 6]
    return any(_OUTLOOK_SENT.match(x) for x in window) and any(_OUTLOOK_SUBJECT.match(x) for x in window)


def find_quote_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or None."""
    norm = [_norm(x) for x in lines]
    for i, line in enumerate(norm):
        if any(p.match(line) for p in _SEPARATOR) or _is_attribution(line):
            return i
        if i + 1 < len(norm) and line.strip() and _is_attribution(f"{line} {norm[i + 1]}"):
            return i
        if _is_outlook_block(norm, i) and not (i > 0 and _FORWARD_MARK.match(norm[i - 1])):
            # Outlook puts a rule of underscores just above its header block.
            return i - 1 if i > 0 and _RULE.match(norm[i - 1]) else i
    return None


def _drop_trailing_quoted(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end]


def _drop_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if i and _SIGNATURE.match(line.rstrip("\r")):
            lines = lines[:i]
            break
    while lines and (not lines[-1].strip() or _MOBILE_FOOTER.match(_norm(lines[-1]))):
        lines = lines[:-1]
    return lines


def is_forward(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject))


def strip_quotes(text: str, subject: str = "") -> str:
    """The new text of a message; the whole text when nothing new is left.

    A forward keeps everything but its sender's signature: the forwarded history is
    what the customer wants us to read.
    """
    lines = text.splitlines()
    if is_forward(subject):
        return "\n".join(_drop_signature(lines)).strip() or text.strip()
    start = find_quote_start(lines)
    if start is not None:
        lines = lines[:start]
    lines = _drop_signature(_drop_trailing_quoted(lines))
    result = "\n".join(lines).strip()
    return result or text.strip()
