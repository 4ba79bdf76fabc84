"""The HTML error page (escaped, localised by the caller), shared by the error handlers and the owner's pages."""
from __future__ import annotations

import html

MARKETPLACE_URL = "https://yclients.com/marketplace"

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.5}}
h1{{font-size:1.4rem}}a.button{{display:inline-block;margin-top:1rem;padding:.6rem 1rem;background:#1f6feb;color:#fff;border-radius:.4rem;text-decoration:none}}</style>
</head><body><main><h1>{title}</h1><p>{message}</p>{action}</main></body></html>"""


def error_page(status: int, title: str, message: str, *, back_url: str | None = MARKETPLACE_URL,
               back_label: str = "Вернуться в маркетплейс YCLIENTS", lang: str = "ru"):
    """An HTML error page; every piece of text is escaped."""
    action = (f'<a class="button" href="{html.escape(back_url, quote=True)}">{html.escape(back_label)}</a>'
              if back_url else "")
    body = PAGE.format(title=html.escape(title), message=html.escape(message), action=action,
                       lang="en" if lang == "en" else "ru")
    return body, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
