"""How many SMS segments a text takes, and in which encoding (a pure function).

GSM 03.38's basic table costs one septet a character, its extension table two (an
escape first); a text with any other character goes as UCS-2 (Arabic, most emoji),
counted in UTF-16 code units. One message holds 160 septets or 70 units; a longer text
is split into parts of 153 or 67 (the concatenation header takes the rest), and an
extension character's two septets are never split across parts.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class SmsParts:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each part: 160/153 or 70/67

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "segments": self.segments,
            "per_segment": self.per_segment,
        }


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def count(text: str) -> SmsParts:
    if is_gsm(text):
        units = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UTF-16: a character outside the BMP (most emoji) is two code units.
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi, encoding = 70, 67, "UCS-2"
    total = sum(units)
    if total <= single:
        return SmsParts(encoding, total, 1 if total else 0, single)
    segments, used = 1, 0
    for u in units:
        if used + u > multi:  # a two-unit character starts the next part whole
            segments += 1
            used = 0
        used += u
    return SmsParts(encoding, total, segments, multi)
