"""The scheduled report mail: the headline table (with the change against the period
before), a text/plain twin, and a PNG of the volume drawn with Pillow.

HTML mail has rules of its own: styles inline (clients drop ``<style>`` and classes),
no scripts, the chart an inline image (``Content-ID``) rather than a URL the client
would fetch. Every value that comes from data — names, figures — is escaped.
Arabic mails are ``dir="rtl"``; numbers keep Latin digits, as in the console.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from PIL import Image, ImageDraw, ImageFont

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject_daily": "Daily report: {name}, {period}",
        "subject_weekly": "Weekly report: {name}, {period}",
        "title_daily": "Daily report",
        "title_weekly": "Weekly report",
        "hello": "Hello {name},",
        "intro": "the figures for {period} ({timezone}), against the {before}.",
        "before_daily": "day before",
        "before_weekly": "week before",
        "teams_all": "All teams",
        "teams_some": "Teams: {names}",
        "figure": "Figure",
        "current": "This period",
        "previous": "Before",
        "change": "Change",
        "chart_daily": "New conversations per hour",
        "chart_weekly": "New conversations per day",
        "chart_alt": "Bar chart of new conversations: {values}",
        "footer": (
            "Schedule “{name}”, sent by Switchboard. Definitions of every figure: docs/reports.md. "
            "Admins change or stop this mail in Admin → Scheduled reports."
        ),
        "conversations": "New conversations",
        "inbound_messages": "Inbound messages",
        "outbound_messages": "Outbound messages",
        "resolved": "Resolved",
        "abandoned": "Abandoned",
        "service_level": "Service level",
        "frt_p50": "First response, median",
        "frt_p90": "First response, 90th percentile",
        "res_p50": "Resolution, median",
        "res_p90": "Resolution, 90th percentile",
        "csat_share": "CSAT, satisfied (4–5)",
        "csat_average": "CSAT, average (1–5)",
        "complaints_opened": "Complaints opened",
        "pp": "pp",
        "sep": ";",
        "h": "h",
        "min": "min",
        "s": "s",
    },
    "ar": {
        "subject_daily": "التقرير اليومي: {name}، {period}",
        "subject_weekly": "التقرير الأسبوعي: {name}، {period}",
        "title_daily": "التقرير اليومي",
        "title_weekly": "التقرير الأسبوعي",
        "hello": "مرحبًا {name}،",
        "intro": "هذه أرقام {period} ‏({timezone})، مقارنةً {before}.",
        "before_daily": "باليوم السابق",
        "before_weekly": "بالأسبوع السابق",
        "teams_all": "كل الفرق",
        "teams_some": "الفرق: {names}",
        "figure": "المؤشر",
        "current": "هذه الفترة",
        "previous": "السابقة",
        "change": "التغيّر",
        "chart_daily": "المحادثات الجديدة في كل ساعة",
        "chart_weekly": "المحادثات الجديدة في كل يوم",
        "chart_alt": "مخطط أعمدة للمحادثات الجديدة: {values}",
        "footer": (
            "الجدول «{name}»، أرسله سويتشبورد. تعريف كل مؤشر في docs/reports.md. "
            "يغيّر المسؤولون هذه الرسالة أو يوقفونها من الإدارة ← التقارير المجدولة."
        ),
        "conversations": "المحادثات الجديدة",
        "inbound_messages": "الرسائل الواردة",
        "outbound_messages": "الرسائل الصادرة",
        "resolved": "المحلولة",
        "abandoned": "المتروكة",
        "service_level": "مستوى الخدمة",
        "frt_p50": "أول رد، الوسيط",
        "frt_p90": "أول رد، المئين 90",
        "res_p50": "الحل، الوسيط",
        "res_p90": "الحل، المئين 90",
        "csat_share": "الرضا، راضون (4–5)",
        "csat_average": "الرضا، المتوسط (1–5)",
        "complaints_opened": "الشكاوى المفتوحة",
        "pp": "نقطة",
        "sep": "؛",
        "h": "س",
        "min": "د",
        "s": "ث",
    },
}


def _get(path: str) -> Callable[[Mapping[str, Any]], Any]:
    def read(figures: Mapping[str, Any]) -> Any:
        value: Any = figures
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    return read


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # TEXT key and stable name
    read: Callable[[Mapping[str, Any]], Any]
    kind: str  # count, share, seconds, score
    better: int  # +1 higher is better, -1 lower is better, 0 neither (volumes)


ROWS = (
    Row("conversations", _get("conversations"), "count", 0),
    Row("inbound_messages", _get("inbound_messages"), "count", 0),
    Row("outbound_messages", _get("outbound_messages"), "count", 0),
    Row("resolved", _get("resolved"), "count", 1),
    Row("abandoned", _get("abandoned"), "count", -1),
    Row("service_level", _get("service_level"), "share", 1),
    Row("frt_p50", _get("first_response_seconds.p50"), "seconds", -1),
    Row("frt_p90", _get("first_response_seconds.p90"), "seconds", -1),
    Row("res_p50", _get("resolution_seconds.p50"), "seconds", -1),
    Row("res_p90", _get("resolution_seconds.p90"), "seconds", -1),
    Row("csat_share", _get("csat.satisfied_share"), "share", 1),
    Row("csat_average", _get("csat.average"), "score", 1),
    Row("complaints_opened", _get("complaints.opened"), "count", -1),
)
DASH = "—"


def duration(seconds: float, lang: str) -> str:
    t = TEXT[lang]
    n = round(abs(seconds))
    if n < 60:
        return f"{n} {t['s']}"
    if n < 3600:
        return f"{n // 60} {t['min']} {n % 60:02d} {t['s']}"
    return f"{n // 3600} {t['h']} {n % 3600 // 60:02d} {t['min']}"


def value_text(kind: str, value: Any, lang: str) -> str:
    if value is None:
        return DASH
    if kind == "count":
        return f"{int(value):,}"
    if kind == "share":
        return f"{float(value) * 100:.1f} %"
    if kind == "seconds":
        return duration(float(value), lang)
    return f"{float(value):.2f}"


def change_text(kind: str, now: Any, before: Any, lang: str) -> str:
    if now is None or before is None:
        return DASH
    diff = float(now) - float(before)
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    if kind == "count":
        text = f"{sign}{abs(int(diff)):,}"
        if before:
            text += f" ({sign}{abs(diff) / float(before) * 100:.1f} %)"
        return text
    if kind == "share":
        return f"{sign}{abs(diff) * 100:.1f} {TEXT[lang]['pp']}"
    if kind == "seconds":
        return f"{sign}{duration(diff, lang)}"
    return f"{sign}{abs(diff):.2f}"


def _has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _split(text: str) -> tuple[str, str]:
    """The part to keep left to right: all of a figure made of digits and signs; only
    the leading signed number of one with Arabic units ("−1 س 05 د"), whose words must
    flow right to left."""
    if _has_arabic(text):
        head, _, tail = text.partition(" ")
        return head, f" {tail}" if tail else ""
    return text, ""


def ltr_html(text: str) -> str:
    head, tail = _split(text)
    return f'<span dir="ltr">{html.escape(head)}</span>{html.escape(tail)}'


def ltr_text(text: str, lang: str) -> str:
    """Plain text: Unicode isolates (LRI … PDI) keep "+14 (+12.7 %)" whole in Arabic."""
    if lang != "ar":
        return text
    head, tail = _split(text)
    return f"\u2066{head}\u2069{tail}"


def _tone(row: Row, now: Any, before: Any) -> str:
    if row.better == 0 or now is None or before is None or now == before:
        return "#374151"
    good = (float(now) > float(before)) == (row.better > 0)
    return "#15803d" if good else "#b91c1c"


@dataclass(frozen=True, slots=True)
class Report:
    """What one recipient's mail says."""

    lang: str
    frequency: str  # daily, weekly
    schedule_name: str
    recipient_name: str
    period: str  # e.g. 2026-01-05 or 2026-01-05 – 2026-01-11
    timezone: str
    teams: Sequence[str] | None  # None: all teams
    current: Mapping[str, Any]
    previous: Mapping[str, Any]
    volume: Sequence[tuple[str, int]]  # (label, conversations) per hour or day


def subject(r: Report) -> str:
    return TEXT[r.lang][f"subject_{r.frequency}"].format(name=r.schedule_name, period=r.period)


def _scope_line(r: Report) -> str:
    t = TEXT[r.lang]
    if r.teams is None:
        return t["teams_all"]
    return t["teams_some"].format(names=", ".join(r.teams) or DASH)


def render_text(r: Report) -> str:
    t = TEXT[r.lang]
    lines = [
        t["hello"].format(name=r.recipient_name),
        "",
        t["intro"].format(period=r.period, timezone=r.timezone, before=t[f"before_{r.frequency}"]),
        _scope_line(r),
        "",
    ]
    for row in ROWS:
        now, before = row.read(r.current), row.read(r.previous)
        lines.append(
            f"{t[row.key]}: {ltr_text(value_text(row.kind, now, r.lang), r.lang)}"
            f" ({t['previous']}: {ltr_text(value_text(row.kind, before, r.lang), r.lang)}{t['sep']}"
            f" {t['change']}: {ltr_text(change_text(row.kind, now, before, r.lang), r.lang)})"
        )
    lines += ["", f"{t[f'chart_{r.frequency}']}:"]
    lines += [f"  {label}: {n}" for label, n in r.volume]
    lines += ["", t["footer"].format(name=r.schedule_name), ""]
    return "\n".join(lines)


def render_html(r: Report, chart_cid: str, chart_size: tuple[int, int]) -> str:
    t = TEXT[r.lang]
    e = html.escape
    rtl = r.lang == "ar"
    direction, start, end = ("rtl", "right", "left") if rtl else ("ltr", "left", "right")
    cell = "padding:8px 10px;border-bottom:1px solid #e5e7eb;"
    head = f"{cell}text-align:{start};font-weight:bold;color:#4b5563;font-size:12px;"
    num = f"{cell}text-align:{end};white-space:nowrap;"
    rows = []
    for row in ROWS:
        now, before = row.read(r.current), row.read(r.previous)
        rows.append(
            "<tr>"
            f'<th scope="row" style="{cell}text-align:{start};font-weight:normal;">{e(t[row.key])}</th>'
            f'<td style="{num}font-weight:bold;">{ltr_html(value_text(row.kind, now, r.lang))}</td>'
            f'<td style="{num}color:#6b7280;">{ltr_html(value_text(row.kind, before, r.lang))}</td>'
            f'<td style="{num}color:{_tone(row, now, before)};">'
            f"{ltr_html(change_text(row.kind, now, before, r.lang))}</td>"
            "</tr>"
        )
    values = ", ".join(f"{label}: {n}" for label, n in r.volume)
    width, height = chart_size
    title = t[f"title_{r.frequency}"]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{r.lang}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(subject(r))}</title>\n</head>\n"
        '<body style="margin:0;padding:16px;background:#f3f4f6;'
        'font-family:Arial,Helvetica,sans-serif;color:#111827;">\n'
        f'<div dir="{direction}" style="max-width:640px;margin:0 auto;background:#ffffff;'
        f'border-radius:8px;padding:20px;text-align:{start};">\n'
        f'<h1 style="font-size:20px;margin:0 0 4px;">{e(title)}: {e(r.schedule_name)}</h1>\n'
        f'<p style="margin:0 0 12px;color:#4b5563;font-size:14px;">{e(_scope_line(r))}</p>\n'
        f'<p style="margin:0 0 12px;font-size:14px;">{e(t["hello"].format(name=r.recipient_name))}<br>\n'
        f"{e(t['intro'].format(period=r.period, timezone=r.timezone, before=t[f'before_{r.frequency}']))}</p>\n"
        '<table style="width:100%;border-collapse:collapse;font-size:14px;">\n'
        f'<thead><tr><th scope="col" style="{head}">{e(t["figure"])}</th>'
        f'<th scope="col" style="{head}text-align:{end};">{e(t["current"])}</th>'
        f'<th scope="col" style="{head}text-align:{end};">{e(t["previous"])}</th>'
        f'<th scope="col" style="{head}text-align:{end};">{e(t["change"])}</th></tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n"
        f'<h2 style="font-size:16px;margin:20px 0 8px;">{e(t[f"chart_{r.frequency}"])}</h2>\n'
        f'<img src="cid:{e(chart_cid)}" width="{width}" height="{height}" '
        f'alt="{e(t["chart_alt"].format(values=values))}" '
        'style="display:block;max-width:100%;height:auto;border:0;">\n'
        f'<p style="font-size:12px;color:#6b7280;margin:16px 0 0;">{e(t["footer"].format(name=r.schedule_name))}</p>\n'
        "</div>\n</body>\n</html>\n"
    )


CHART_SIZE = (560, 180)


def chart_png(volume: Sequence[tuple[str, int]], *, rtl: bool = False) -> bytes:
    """Bars of the volume, right to left for Arabic; a few kilobytes (8-colour palette)."""
    width, height = CHART_SIZE
    pad_x, top, bottom = 36, 14, 22
    img = Image.new("RGB", CHART_SIZE, "#ffffff")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    top_value = max((n for _, n in volume), default=0)
    scale = max(1, top_value)
    plot_w, plot_h = width - 2 * pad_x, height - top - bottom
    base = top + plot_h
    draw.line([(pad_x, base), (width - pad_x, base)], fill="#9ca3af")
    draw.text((4, top - 6), str(top_value), fill="#4b5563", font=font)
    draw.text((4, base - 6), "0", fill="#4b5563", font=font)
    n = max(1, len(volume))
    slot = plot_w / n
    every = 1 if n <= 8 else 3
    for i, (label, value) in enumerate(volume):
        pos = n - 1 - i if rtl else i
        x0 = pad_x + pos * slot + slot * 0.15
        x1 = pad_x + (pos + 1) * slot - slot * 0.15
        bar = round(plot_h * value / scale)
        if bar:
            draw.rectangle([(x0, base - bar), (x1, base)], fill="#2563eb")
        if i % every == 0:
            draw.text((x0, base + 5), label, fill="#4b5563", font=font)
    out = io.BytesIO()
    img.convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(out, format="PNG", optimize=True)
    return out.getvalue()


def compose(
    r: Report,
    *,
    sender: str,
    company: str,
    to: str,
    now: datetime,
) -> EmailMessage:
    """The whole mail: text/plain and text/html alternatives, the chart related to the HTML."""
    domain = sender.rpartition("@")[2] or "localhost"
    cid = make_msgid("chart", domain=domain)[1:-1]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=company, addr_spec=sender)
    msg["To"] = to
    msg["Subject"] = subject(r)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("report", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies into the support inbox
    # Quoted-printable: the stored message (hub.staff_outbox) is plain ASCII.
    msg.set_content(render_text(r), cte="quoted-printable")
    msg.add_alternative(render_html(r, cid, CHART_SIZE), subtype="html", cte="quoted-printable")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        chart_png(r.volume, rtl=r.lang == "ar"),
        maintype="image",
        subtype="png",
        cid=f"<{cid}>",
        filename="volume.png",
        disposition="inline",
    )
    return msg
