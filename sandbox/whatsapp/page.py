"""The simulator's page: the "phone" for clicking through `make run` (scan the QR, enter a pairing code)."""
from __future__ import annotations

from html import escape

from sandbox.whatsapp.core import SimCore, SimError

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
.s{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}.st{font-weight:bold}
form{display:inline-block;margin:.3rem 1rem .3rem 0}input{padding:.3rem}button{padding:.3rem .8rem}
.qr svg{width:180px;height:180px}.muted{color:#777}"""


def render_index(core: SimCore) -> str:
    rows = []
    with core.lock:
        core.tick()
        sessions = list(core.sessions.values())
        for s in sessions:
            name = escape(s.name)
            parts = [f"<div class='s'><div><b>{name}</b> — <span class='st'>{escape(s.status)}</span>"]
            if s.creds_phone:
                parts.append(f" <span class='muted'>(привязан: {escape(s.creds_phone)})</span>")
            parts.append("</div>")
            if s.status == "SCAN_QR_CODE":
                try:
                    from bridge.qr import render_svg

                    parts.append(f"<div class='qr'>{render_svg(core.current_qr(s.name))}</div>")
                except SimError:
                    pass
                parts.append(
                    f"<form method='post' action='/_sim/{name}/scan'>"
                    f"<input name='phone' placeholder='номер телефона, напр. 79001234567'>"
                    f"<button>Сканировать QR</button></form>")
                if s.pairing:
                    parts.append(
                        f"<form method='post' action='/_sim/{name}/enter-code'>"
                        f"<input name='code' placeholder='XXXX-XXXX'><button>Ввести код</button></form>"
                        f"<span class='muted'>код запрошен для {escape(s.pairing['phone'])}</span>")
            if s.status == "WORKING":
                parts.append(
                    f"<form method='post' action='/_sim/{name}/incoming'><input name='from' "
                    f"placeholder='от кого (номер)'><input name='text' placeholder='текст'>"
                    f"<button>Входящее сообщение</button></form>"
                    f"<form method='post' action='/_sim/{name}/remote-logout'><button>Выйти с телефона</button></form>")
            sent = [m for m in core.messages if m["session"] == s.name][-5:]
            for m in sent:
                parts.append(f"<div class='muted'>→ {escape(m['chatId'])}: {escape(m['text'][:200])}</div>")
            parts.append("</div>")
            rows.append("".join(parts))
    body = "".join(rows) or "<p class='muted'>Сессий пока нет: нажмите «Подключить» в песочнице YCLIENTS.</p>"
    return (f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>Симулятор WhatsApp</title>"
            f"<style>{_STYLE}</style></head><body><h1>Симулятор WhatsApp (телефон)</h1>"
            f"<p><a href='/'>Обновить</a></p>{body}</body></html>")
