/* The onboarding page: live status over a websocket, polling when it fails; no inline script, no CDN.
   It has no texts of its own: labels come from boot.text, every state's words from the server's events. */
(function () {
  "use strict";

  var boot = JSON.parse(document.getElementById("boot").textContent);
  var T = boot.text;
  var SLOT = {qr: "qr", pairing_code: "pairing_code", whatsapp_connected: "whatsapp", activation: "activation",
              sync: "sync", welcome: "welcome", complete: "complete", error: "error"};
  var CONNECTED_STATES = ["whatsapp_connected", "activating", "active", "activation_failed"];
  var POLL_LINKING = 3000, POLL_LINKED = 15000;  // a QR needs fresh polls; after linking 15 s is enough
  var PAIRING_WAIT = 30000;  // no code (and no error) this long after the request: say so, never spin forever
  // Errors about a pairing request are shown by the pairing panel, not the general error box.
  var PAIRING_ERRORS = ["pairing_failed", "invalid_phone", "too_many_requests", "request_in_progress"];
  var models = {};
  var current = boot.branches[0].salon_id;
  var socket = null, fatal = null, retryDelay = 1000, pollTimer = null, pollEvery = 0;

  function $(id) { return document.getElementById(id); }
  function show(el, visible) { el.hidden = !visible; }
  function fmt(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (all, key) {
      return values[key] !== undefined ? values[key] : all;
    });
  }
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

  boot.branches.forEach(function (b) {
    // pairing: idle -> requesting -> shown -> expired | failed -> idle (every state has a way out)
    models[b.salon_id] = {seq: -1, data: {}, slotSeq: {}, at: {}, etag: null,
                          pairing: {state: "idle", note: "", since: 0, sentAt: 0}};
  });

  /* ---- state ------------------------------------------------------------------------------ */
  function applySnapshot(env, authoritative) {
    var m = models[env.salon_id];
    if (!m) return;
    // A polled snapshot is the server's current truth: a lower seq there means Redis restarted
    // and its counter began again, so it is taken rather than ignored (docs/reliability.md).
    if (env.seq < m.seq && env.seq !== 0 && !authoritative) return;
    m.seq = env.seq;
    m.data = env.data || {};
    m.slotSeq = {};
    m.at = {};
    var slots = env.slots || {};
    Object.keys(m.data).forEach(function (slot) {
      var meta = slots[slot];
      m.slotSeq[slot] = meta ? meta.seq : 0;
      // Age on the server's clock, so a skewed client clock does not shorten a countdown.
      m.at[slot] = Date.now() - (meta ? Math.max(0, (env.ts - meta.ts) * 1000) : 0);
    });
    pairingFromData(m);
    render();
  }

  function applyEvent(env) {
    var m = models[env.salon_id];
    if (!m || env.seq <= m.seq) return;
    m.seq = env.seq;
    var slot = SLOT[env.type];
    if (!slot) return;
    m.data[slot] = env.data;
    m.slotSeq[slot] = env.seq;
    m.at[slot] = Date.now();
    if (env.type === "whatsapp_connected") {
      if (!m.data.state || m.data.state === "pending_whatsapp") m.data.state = "whatsapp_connected";
      m.data.qr = null;
      m.data.pairing_code = null;
    }
    if (env.type === "error" && m.pairing.state === "requesting" && PAIRING_ERRORS.indexOf(env.data.code) >= 0) {
      pairingTo(m, "failed", env.data.message || "");
    }
    pairingFromData(m);
    render();
  }

  function remaining(m, slot) {
    var d = m.data[slot];
    if (!d || typeof d.expires_in !== "number") return 0;
    return Math.max(0, Math.ceil(d.expires_in - (Date.now() - (m.at[slot] || Date.now())) / 1000));
  }

  function activeError(m) {
    var err = m.data.error;
    if (!err) return null;
    if (PAIRING_ERRORS.indexOf(err.code) >= 0) return null;  // the pairing panel shows those
    var mine = m.slotSeq.error || 0;
    var newer = ["qr", "pairing_code", "whatsapp", "activation", "sync", "welcome", "complete"].some(function (s) {
      return m.data[s] && (m.slotSeq[s] || 0) > mine;
    });
    return newer ? null : err;
  }

  function isLinked(d) { return !!d.whatsapp || CONNECTED_STATES.indexOf(d.state) >= 0; }
  function allDone(d) { return !!d.complete && !!d.sync && d.sync.status === "done"; }

  function stepStates(d) {
    var st = d.state;
    var wa = isLinked(d);
    var act = d.activation ? d.activation.status :
      (st === "active" ? "done" : st === "activating" ? "started" : st === "activation_failed" ? "failed" : null);
    var sync = d.sync ? d.sync.status : null;
    var welcome = d.welcome ? d.welcome.status : null;
    return {
      whatsapp: wa ? "done" : "current",
      activation: act === "done" ? "done" : act === "failed" ? "failed" : wa ? "current" : "pending",
      sync: sync === "done" ? "done" : sync === "failed" ? "failed" : sync || act === "done" ? "current" : "pending",
      welcome: welcome === "sent" ? "done" : welcome === "failed" ? "failed" : act === "done" ? "current" : "pending",
      done: allDone(d) ? "done" : d.complete ? "current" : "pending"
    };
  }

  /* The one failure the owner should act on now, with what happens next (or null). */
  function failure(d) {
    if (d.activation && d.activation.status === "failed") return d.activation;
    if (d.sync && d.sync.status === "failed") return d.sync;
    return null;
  }

  /* The server's sentence for what is happening now. */
  function headline(m, d) {
    if (!isLinked(d)) return "";
    if (allDone(d)) return "";
    var f = failure(d);
    if (f) return "";
    if (d.sync && d.sync.status === "running") return d.sync.message || "";
    if (d.complete) return d.complete.message || "";
    if (d.sync && d.sync.status === "done") return d.sync.message || "";
    if (d.activation) return d.activation.message || "";
    return d.whatsapp ? d.whatsapp.message || "" : "";
  }

  function formatCode(code) {
    var c = String(code || "").replace(/[^0-9A-Za-z]/g, "").toUpperCase();
    return c.length === 8 ? c.slice(0, 4) + "-" + c.slice(4) : String(code || "");
  }

  function localTime(epoch) {
    try {
      return new Date(epoch * 1000).toLocaleTimeString(boot.lang === "en" ? "en-GB" : "ru-RU",
                                                         {hour: "2-digit", minute: "2-digit"});
    } catch (e) { return ""; }
  }

  /* ---- pairing state machine -------------------------------------------------------------- */
  function pairingTo(m, state, note) {
    m.pairing.state = state;
    m.pairing.note = note || "";
  }

  function pairingFromData(m) {
    var p = m.pairing, code = m.data.pairing_code;
    var fresh = code && code.code && (m.slotSeq.pairing_code || 0) > p.since;
    if (fresh && (p.state === "requesting" || p.state === "idle" || p.state === "failed")) {
      // idle: a reload while a code is valid shows it again
      if (remaining(m, "pairing_code") > 0) pairingTo(m, "shown");
    }
  }

  function tickPairing(m) {
    var p = m.pairing;
    if (p.state === "shown" && remaining(m, "pairing_code") <= 0) pairingTo(m, "expired", T.pairing_expired);
    if (p.state === "requesting" && Date.now() - p.sentAt > PAIRING_WAIT) pairingTo(m, "failed", T.pairing_timeout);
  }

  /* ---- rendering -------------------------------------------------------------------------- */
  function branch() {
    for (var i = 0; i < boot.branches.length; i++) if (boot.branches[i].salon_id === current) return boot.branches[i];
    return boot.branches[0];
  }

  function render() {
    var m = models[current], d = m.data || {};
    tickPairing(m);
    setText($("salon-name"), branch().title);
    setText($("salon-id"), String(current));
    var states = stepStates(d);
    var items = document.querySelectorAll("#steps li");
    for (var i = 0; i < items.length; i++) {
      var key = items[i].getAttribute("data-step");
      items[i].className = "step " + states[key];
      setText(items[i].querySelector(".step-status"), key === "whatsapp" && d.whatsapp ? d.whatsapp.phone || "" : "");
      if (states[key] === "current") items[i].setAttribute("aria-current", "step");
      else items[i].removeAttribute("aria-current");
    }
    var linked = isLinked(d), f = failure(d);
    document.body.setAttribute("data-phase", fatal ? "fatal" : !linked ? "linking" : allDone(d) ? "done" :
      f ? "failed" : d.activation && d.activation.status === "done" ? "syncing" : "activating");
    show($("link"), !linked && !fatal);
    renderQr(m, d);
    renderPairing(m);
    renderFailure(f);
    renderSync(d, f);
    renderDone(d);
    renderError(m);
    setText($("status"), fatal ? "" : headline(m, d));
    schedulePolling();
  }

  function renderQr(m, d) {
    var img = $("qr-image");
    if (d.qr && d.qr.svg) {
      var src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(d.qr.svg);
      if (img.getAttribute("src") !== src) img.setAttribute("src", src);
      img.setAttribute("data-payload", d.qr.payload || "");
      show(img, true);
      show($("qr-waiting"), false);
      var left = remaining(m, "qr");
      setText($("qr-countdown"), left > 0 ? fmt(T.qr_expires, {n: left}) : T.qr_refreshing);
    } else {
      show(img, false);
      show($("qr-waiting"), true);
      setText($("qr-countdown"), "");
    }
  }

  function renderPairing(m) {
    var p = m.pairing, code = m.data.pairing_code;
    var shown = p.state === "shown" && code && code.code;
    document.getElementById("panel-pairing").setAttribute("data-pairing", p.state);
    show($("pairing-form"), !shown && p.state !== "expired");
    show($("pairing-result"), !!shown);
    show($("pairing-again"), !!shown || p.state === "expired");
    $("pairing-submit").disabled = p.state === "requesting";
    var note = p.state === "requesting" ? T.pairing_requesting : p.note;
    setText($("pairing-note"), note || "");
    $("pairing-note").className = "note" + (p.state === "failed" || p.state === "expired" ? " field-error" : "");
    if (shown) {
      setText($("pairing-code"), formatCode(code.code));
      setText($("pairing-countdown"), fmt(T.pairing_expires, {n: remaining(m, "pairing_code")}));
    }
  }

  function renderFailure(f) {
    show($("failure"), !!f && !fatal);
    if (!f) return;
    setText($("failure-message"), fmt(f.message || "", {time: f.retry_at ? localTime(f.retry_at) : ""}));
  }

  function renderSync(d, f) {
    var s = d.sync;
    var visible = !!s && s.status !== "done" && !fatal;
    show($("sync-box"), visible);
    if (!visible) return;
    var percent = Math.max(0, Math.min(100, Number(s.percent) || 0));
    $("sync-progress").value = percent;
    $("sync-progress").setAttribute("aria-valuetext", percent + " %");
    setText($("sync-label"), T.progress + ": " + percent + " %");
    var name = T.entities[s.entity];
    setText($("sync-detail"), name && s.total ? fmt(T.now_loading, {entity: name, done: s.done, total: s.total}) : "");
    // After `complete` the owner may leave while the data keeps loading: the server's sentence says so.
    setText($("sync-note"), d.complete && !f ? d.complete.message || "" : "");
  }

  function renderDone(d) {
    var done = allDone(d) && !fatal;
    show($("done"), done);
    if (!done) return;
    setText($("done-message"), d.complete.assistant || d.sync.assistant || "");
    setText($("done-welcome"), d.welcome ? d.welcome.message || "" : "");
  }

  // What the owner can do about each error code (codes from the bridge, the pipeline and this page).
  var ACTIONS = {
    link_expired: "restart", logged_out: "restart", session_stopped: "restart", not_awaiting_link: "restart",
    gateway_unavailable: "wait", too_many_restarts: "use_pairing",
    token_expired: "marketplace", unauthorized: "marketplace", forbidden_salon: "marketplace"
  };
  var FATAL = ["token_expired", "unauthorized", "forbidden_salon", "session_ended"];

  function errorAction(code) {
    code = String(code || "");
    if (FATAL.indexOf(code) >= 0) return "marketplace";
    return ACTIONS[code] || "reload";
  }

  function renderError(m) {
    var err = fatal || activeError(m);
    show($("error"), !!err);
    if (!err) return;
    setText($("error-message"), err.message || "");
    var action = errorAction(err.code);
    var button = $("error-action");
    show($("error-link"), action === "marketplace");
    show(button, ["restart", "use_pairing", "reload"].indexOf(action) >= 0);
    button.setAttribute("data-action", action);
    setText(button, action === "restart" ? T.new_code : action === "use_pairing" ? T.use_pairing : T.reload);
  }

  /* ---- actions ---------------------------------------------------------------------------- */
  function post(path, body) {
    return fetch(path, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                        body: JSON.stringify(body)}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j.httpStatus = r.status; return j; });
    });
  }

  function restartLinking() {
    $("error-action").disabled = true;
    post(boot.restart_path, {salon_id: current}).then(function (r) {
      if (r.httpStatus >= 400 && r.message) setText($("error-message"), r.message);
    }).catch(function () {}).then(function () {
      setTimeout(function () { $("error-action").disabled = false; }, 5000);
    });
  }

  function retryNow() {
    var button = $("retry-now");
    button.disabled = true;
    post(boot.retry_path, {salon_id: current}).then(function (r) {
      setText($("failure-note"), r.message || "");
    }).catch(function () { setText($("failure-note"), T.pairing_network); }).then(function () {
      setTimeout(function () { button.disabled = false; }, 5000);
    });
  }

  function normalisePhone(value) {
    var digits = String(value || "").replace(/\D/g, "");
    if (digits.length === 11 && digits.charAt(0) === "8") digits = "7" + digits.slice(1);
    else if (digits.length === 10) digits = "7" + digits;
    return digits.length >= 10 && digits.length <= 15 ? digits : null;
  }

  function requestPairingCode(event) {
    event.preventDefault();
    var m = models[current], salon = current;
    if (m.pairing.state === "requesting") return;
    var phone = normalisePhone($("phone").value);
    if (!phone) {
      pairingTo(m, "failed", T.invalid_phone);
      $("phone").setAttribute("aria-invalid", "true");
      render();
      $("phone").focus();
      return;
    }
    $("phone").removeAttribute("aria-invalid");
    pairingTo(m, "requesting");
    m.pairing.since = Math.max(m.seq, 0);  // only a code published after this request counts
    m.pairing.sentAt = Date.now();
    render();
    post(boot.pairing_path, {phone: phone, salon_id: salon}).then(function (r) {
      if (r.httpStatus !== 202 && m.pairing.state === "requesting") pairingTo(m, "failed", r.message || T.pairing_network);
    }).catch(function () {
      if (m.pairing.state === "requesting") pairingTo(m, "failed", T.pairing_network);
    }).then(render);
  }

  function pairingAgain() {
    var m = models[current];
    pairingTo(m, "idle");
    m.pairing.since = Math.max(m.seq, 0);
    render();
    $("phone").focus();
  }

  function copyCode() {
    var code = String(($("pairing-code").textContent || "")).replace(/-/g, "");
    var done = function () {
      setText($("pairing-copy"), T.copied);
      setTimeout(function () { setText($("pairing-copy"), T.copy); }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(code).then(done, function () { legacyCopy(code) && done(); });
    } else if (legacyCopy(code)) {
      done();
    }
  }

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function selectTab(name, focus) {
    ["qr", "pairing"].forEach(function (t) {
      var tab = $("tab-" + t), on = t === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      show($("panel-" + t), on);
      if (on && focus) tab.focus();
    });
  }

  function onErrorAction() {
    var action = $("error-action").getAttribute("data-action");
    if (action === "restart") restartLinking();
    else if (action === "use_pairing") selectTab("pairing", true);
    else window.location.reload();
  }

  /* ---- transport: websocket first, polling while it is down ----------------------------- */
  function resumeQuery() {
    var parts = [];
    Object.keys(models).forEach(function (id) { if (models[id].seq >= 0) parts.push(id + ":" + models[id].seq); });
    return parts.length ? "?last_seq=" + encodeURIComponent(parts.join(",")) : "";
  }

  function setConnection(isLive) {
    setText($("connection"), isLive ? T.live : T.polling);
    document.body.setAttribute("data-transport", isLive ? "websocket" : "polling");
  }

  function connect() {
    if (fatal) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + boot.ws_path + resumeQuery();
    try { socket = new WebSocket(url); } catch (e) { socket = null; return fallBack(); }
    socket.onopen = function () { retryDelay = 1000; stopPolling(); setConnection(true); };
    socket.onmessage = function (msg) {
      var env;
      try { env = JSON.parse(msg.data); } catch (e) { return; }
      if (env.type === "error" && !env.seq) {  // refused by the server: the socket is about to close
        if (FATAL.indexOf(env.data.code) >= 0) { fatal = env.data; render(); }
        return;  // anything else (origin, too many sockets): fall back to polling on close
      }
      if (env.type === "error" && env.data && env.data.code === "session_ended") { fatal = env.data; }
      if (env.type === "snapshot") applySnapshot(env); else applyEvent(env);
    };
    socket.onclose = function () { socket = null; fallBack(); };
  }

  function fallBack() {
    setConnection(false);
    startPolling();
    if (fatal) return;
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function poll() {
    boot.branches.forEach(function (b) {
      var m = models[b.salon_id], headers = {};
      if (m.etag) headers["If-None-Match"] = m.etag;  // unchanged: a bodiless 304
      fetch(boot.status_path + "?salon_id=" + b.salon_id, {credentials: "same-origin", cache: "no-store",
                                                            headers: headers})
        .then(function (r) {
          if (r.status === 401) {
            return r.json().then(function (j) { fatal = {code: j.error, message: j.message}; stopPolling(); render(); });
          }
          if (r.ok) {
            m.etag = r.headers.get("ETag");
            return r.json().then(function (env) { applySnapshot(env, true); });
          }
        }).catch(function () {});
    });
  }

  function wantedPollInterval() {
    var linking = boot.branches.some(function (b) { return !isLinked(models[b.salon_id].data || {}); });
    return linking ? POLL_LINKING : POLL_LINKED;
  }

  function startPolling() {
    if (pollTimer || fatal) return;
    poll();
    pollEvery = wantedPollInterval();
    pollTimer = setInterval(poll, pollEvery);
  }

  function schedulePolling() {  // after linking the page polls less often (docs/onboarding.md: bytes per minute)
    if (pollTimer && pollEvery !== wantedPollInterval()) {
      clearInterval(pollTimer);
      pollEvery = wantedPollInterval();
      pollTimer = setInterval(poll, pollEvery);
    }
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  /* ---- wiring ----------------------------------------------------------------------------- */
  $("tab-qr").addEventListener("click", function () { selectTab("qr"); });
  $("tab-pairing").addEventListener("click", function () { selectTab("pairing"); });
  document.querySelector("[role=tablist]").addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      selectTab($("tab-qr").getAttribute("aria-selected") === "true" ? "pairing" : "qr", true);
      e.preventDefault();
    }
  });
  $("error-action").addEventListener("click", onErrorAction);
  $("retry-now").addEventListener("click", retryNow);
  $("pairing-form").addEventListener("submit", requestPairingCode);
  $("pairing-again").addEventListener("click", pairingAgain);
  $("pairing-copy").addEventListener("click", copyCode);
  $("branch-picker").addEventListener("change", function (e) {
    current = Number(e.target.value);
    render();
  });
  // On a phone the owner cannot scan a QR shown on that same phone: pairing by number comes first.
  selectTab(window.matchMedia("(max-width: 600px)").matches ? "pairing" : "qr");
  setInterval(function () { render(); }, 1000);  // countdowns only; never starts anything on a timer
  render();
  connect();
})();
