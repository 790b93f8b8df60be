"""Small server-rendered pages for customers (the survey answer page, the complaint
form): no script, every value escaped, English or Arabic (right to left), one column
that fits a 390 px phone. Styles: /static/survey.css."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    direction = "rtl" if lang == "ar" else "ltr"
    return HTMLResponse(
        f"""<!doctype html><html lang="{esc(lang)}" dir="{direction}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{esc(title)}</title>
<link rel="stylesheet" href="/static/survey.css"></head>
<body><main class="survey"><h1>{esc(title)}</h1>{body}</main></body></html>""",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
