"""The marketplace side: the demo page with «Подключить», and the partner API (activation, status, uninstall)."""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, request

from sandbox.yclients.data import SALONS
from sandbox.yclients.signing import demo_user, signed_user_data

bp = Blueprint("marketplace", __name__)

ALREADY_INSTALLED = "Пользователь уже установил это приложение"


def ctx():
    return current_app.config["SANDBOX"]


def envelope(data=None, status=200, message=None, success=None, meta=None):
    meta = dict(meta or {})
    if message:
        meta["message"] = message
    ok = status < 400 if success is None else success
    return jsonify(success=ok, data=data, meta=meta), status


def html_error(status=502):
    body = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            "<body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>")
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


# Readable on a phone (viewport, one column, large tap targets); every link stays on this sandbox.
STYLE = ("body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:40rem;"
         "padding:1rem;line-height:1.45;color:#1d1d1f}h1{font-size:1.3rem}ul.salons{list-style:none;padding:0}"
         "ul.salons li{border:1px solid #d0d7de;border-radius:.4rem;padding:.6rem .8rem;margin:.5rem 0}"
         "a.btn{display:inline-block;margin-top:.4rem;padding:.55rem 1rem;min-height:44px;background:#0a58ca;"
         "color:#fff;border-radius:.4rem;text-decoration:none}")


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main><h1>{escape(title)}</h1>"
            f"{body}</main></body></html>")


@bp.get("/")
def index():
    rows = []
    for spec in SALONS.values():
        rows.append(f"<li>{escape(spec.title)} (#{spec.salon_id}, {spec.clients} клиентов, {spec.records} записей)"
                    f"<br><a class='btn' href='/connect?salon_id={spec.salon_id}'>Подключить</a></li>")
    groups = sorted({s.group for s in SALONS.values() if s.group})
    for group in groups:
        ids = [s.salon_id for s in SALONS.values() if s.group == group]
        query = urlencode({f"salon_ids[{i}]": sid for i, sid in enumerate(ids)})
        rows.append(f"<li>Сеть «{escape(group)}»: все филиалы {escape(', '.join(map(str, ids)))}"
                    f"<br><a class='btn' href='/connect?{escape(query)}'>Подключить</a></li>")
    return page("Маркетплейс YCLIENTS — песочница",
                "<p>Приложение AI Admin. Нажмите «Подключить» у салона: как в YCLIENTS, откроется страница "
                "подключения AI Admin.</p><ul class='salons'>" + "".join(rows) + "</ul>")


@bp.get("/connect")
def connect():
    """What YCLIENTS does on «Подключить»: mark every branch pending (an active one stays active: a revisit),
    sign user_data, send the browser to the partner."""
    ids = [int(v) for k, v in sorted(request.args.items()) if k.startswith("salon_ids[") and v.isdigit()]
    single = request.args.get("salon_id", "")
    if single.isdigit():
        ids = [int(single)]
    ids = [i for i in ids if i in SALONS]
    if not ids:
        return "unknown salon", 404
    for salon_id in ids:
        ctx().installs.pending(salon_id)
    # `user_id`/`user_name`: another YCLIENTS user of the same salon pressing the button (a colleague).
    user_id = int(request.args["user_id"]) if request.args.get("user_id", "").isdigit() else 1234567
    user = demo_user(SALONS[ids[0]].title, user_id)
    if request.args.get("user_name"):
        user["name"] = request.args["user_name"][:100]
    user_data, sign = signed_user_data(user, ctx().partner_token)
    if len(ids) == 1:
        params = [("salon_id", ids[0])]
    else:
        params = [(f"salon_ids[{i}]", sid) for i, sid in enumerate(ids)]
    params += [("user_data", user_data), ("user_data_sign", sign)]
    return redirect(f"{ctx().public_base_url}/auth/yclients/redirect?{urlencode(params)}", 302)


def partner_authorized() -> bool:
    header = request.headers.get("Authorization", "")
    token = header.split(",")[0].strip()
    return token == f"Bearer {ctx().partner_token}"


@bp.post("/marketplace/partner/callback/redirect")
def callback_redirect():
    if not partner_authorized():
        return envelope(None, 401, "Необходима авторизация")
    body = request.get_json(silent=True) or {}
    ctx().installs.log_callback(body)
    forced = ctx().faults.next_activation()
    salon_id = body.get("salon_id")
    if forced == "html":
        return html_error(502)
    if forced in (500, 502, 503):
        return envelope(None, int(forced), "Внутренняя ошибка")
    if forced == 401:
        return envelope(None, 401, "Необходима авторизация")
    if forced == 422:
        return envelope({"errors": {"salon_id": ["invalid"]}}, 422, "Validation failed")
    if forced == 403:
        if isinstance(salon_id, int):
            ctx().installs.activate(salon_id, body.get("api_key"), body.get("webhook_urls"))
        return envelope(None, 403, ALREADY_INSTALLED)
    errors = {}
    if not isinstance(salon_id, int) or salon_id not in SALONS:
        errors["salon_id"] = ["unknown salon"]
    if body.get("application_id") != ctx().app_id:
        errors["application_id"] = ["wrong application"]
    urls = body.get("webhook_urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) and u.startswith("http") for u in urls):
        errors["webhook_urls"] = ["must be an array of URLs"]
    if errors:
        return envelope({"errors": errors}, 422, "Validation failed")
    if not ctx().installs.activate(salon_id, body.get("api_key"), urls):
        return envelope(None, 403, ALREADY_INSTALLED)
    return redirect(f"{request.host_url.rstrip('/')}/_sandbox/installed?salon_id={salon_id}", 301)


@bp.get("/marketplace/salon/<int:salon_id>/application/<int:app_id>")
def integration_status(salon_id, app_id):
    if not partner_authorized():
        return envelope(None, 401, "Необходима авторизация")
    forced = ctx().faults.snapshot()["status_answer"]
    if forced == "timeout":
        import time

        time.sleep(30)
    elif forced == "html":
        return html_error(502)
    elif forced in (500, 502, 503):
        return envelope(None, int(forced), "Внутренняя ошибка")
    elif forced == 404:
        return envelope(None, 404, "Приложение не установлено в салоне")
    if forced == 403 or app_id != ctx().app_id:
        return envelope(None, 403, "Нет доступа к приложению")
    entry = ctx().installs.get(salon_id)
    if entry is None or entry["status"] == "uninstalled" and not entry["logs"]:
        return envelope(None, 404, "Приложение не установлено в салоне")
    created = entry["logs"][0]["changed_at"] if entry["logs"] else None
    return envelope({"logs": entry["logs"], "payments": [],
                     "connection_status": {"status": entry["status"], "created_at": created}})


@bp.post("/marketplace/salon/<int:salon_id>/application/<int:app_id>/uninstall")
def partner_uninstall(salon_id, app_id):
    if not partner_authorized():
        return envelope(None, 401, "Необходима авторизация")
    if app_id != ctx().app_id or not ctx().installs.uninstall(salon_id, "partner_api"):
        return envelope(None, 404, "Приложение не установлено в салоне")
    return envelope(None, 200)


@bp.get("/_sandbox/installed")
def installed_page():
    return page("Приложение подключено", f"<p>Филиал #{escape(request.args.get('salon_id', ''))}</p>"
                                          "<p><a class='btn' href='/'>Вернуться в маркетплейс</a></p>")
