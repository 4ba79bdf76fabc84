/* The onboarding page: live status over a websocket, polling when it fails; no inline script, no CDN. */
(function () {
  "use strict";

  var boot = JSON.parse(document.getElementById("boot").textContent);
  var T = boot.text;
  var SLOT = {qr: "qr", pairing_code: "pairing_code", whatsapp_connected: "whatsapp", activation: "activation",
              sync: "sync", welcome: "welcome", complete: "complete", error: "error"};
  var CONNECTED_STATES = ["whatsapp_connected", "activating", "active", "activation_failed"];
  var models = {};
  var current = boot.branches[0].salon_id;
  var socket = null, fatal = null, retryDelay = 1000, pollTimer = null, live = false;
  var pairingPending = false;

  function $(id) { return document.getElementById(id); }
  function show(el, visible) { el.hidden = !visible; }
  function fmt(text, n) { return text.replace("{n}", n); }

  boot.branches.forEach(function (b) {
    models[b.salon_id] = {seq: -1, data: {}, slotSeq: {}, at: {}};
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
    if (env.type === "pairing_code") pairingPending = false;
    if (env.type === "whatsapp_connected" && (!m.data.state || m.data.state === "pending_whatsapp")) {
      m.data.state = "whatsapp_connected";
    }
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
    var mine = m.slotSeq.error || 0;
    var newer = ["qr", "pairing_code", "whatsapp", "activation", "sync", "welcome", "complete"].some(function (s) {
      return m.data[s] && (m.slotSeq[s] || 0) > mine;
    });
    return newer ? null : err;
  }

  function stepStates(d) {
    var st = d.state;
    var wa = !!d.whatsapp || CONNECTED_STATES.indexOf(st) >= 0;
    var act = d.activation ? d.activation.status :
      (st === "active" ? "done" : st === "activating" ? "started" : st === "activation_failed" ? "failed" : null);
    var sync = d.sync ? d.sync.status : null;
    var welcome = d.welcome ? d.welcome.status : null;
    return {
      whatsapp: wa ? "done" : "current",
      activation: act === "done" ? "done" : act === "failed" ? "failed" : wa ? "current" : "pending",
      sync: sync === "done" ? "done" : sync === "failed" ? "failed" : sync ? "current" : act === "done" ? "current" : "pending",
      welcome: welcome === "sent" ? "done" : welcome === "failed" ? "failed" : sync === "done" ? "current" : "pending",
      done: d.complete ? "done" : welcome ? "current" : "pending"
    };
  }

  function maskPhone(phone) {
    var digits = String(phone || "").replace(/\D/g, "");
    if (digits.length < 7) return String(phone || "");
    return "+" + digits.slice(0, 4) + "***" + digits.slice(-2);
  }

  function formatCode(code) {
    var c = String(code || "").replace(/[^0-9A-Za-z]/g, "").toUpperCase();
    return c.length === 8 ? c.slice(0, 4) + "-" + c.slice(4) : String(code || "");
  }

  /* ---- rendering -------------------------------------------------------------------------- */
  function branch() {
    for (var i = 0; i < boot.branches.length; i++) if (boot.branches[i].salon_id === current) return boot.branches[i];
    return boot.branches[0];
  }

  function render() {
    var m = models[current], d = m.data || {};
    $("salon-name").textContent = branch().title;
    $("salon-id").textContent = String(current);
    var states = stepStates(d);
    var texts = {
      whatsapp: d.whatsapp ? T.connected + (d.whatsapp.phone ? " (" + maskPhone(d.whatsapp.phone) + ")" : "") : "",
      activation: d.activation ? (d.activation.status === "done" ? T.activation_done :
        d.activation.status === "failed" ? T.activation_failed : T.activation_started) : "",
      sync: d.sync ? (d.sync.status === "done" ? T.sync_done : d.sync.status === "failed" ? T.sync_failed : T.sync_running) : "",
      welcome: d.welcome ? (d.welcome.status === "sent" ? T.welcome_sent : T.welcome_failed) : "",
      done: d.complete ? T.done : ""
    };
    var items = document.querySelectorAll("#steps li");
    var statusLine = "";
    for (var i = 0; i < items.length; i++) {
      var key = items[i].getAttribute("data-step");
      items[i].className = "step " + states[key];
      items[i].querySelector(".step-status").textContent = texts[key];
      if (states[key] === "current") items[i].setAttribute("aria-current", "step");
      else items[i].removeAttribute("aria-current");
      if (texts[key]) statusLine = texts[key];
    }
    var connected = states.whatsapp === "done";
    show($("link"), !connected);
    renderQr(m, d);
    renderPairing(m, d);
    renderSync(d);
    show($("done"), !!d.complete);
    renderError(m);
    if ($("status").textContent !== statusLine) $("status").textContent = statusLine;
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
      $("qr-countdown").textContent = left > 0 ? fmt(T.qr_expires, left) : T.qr_refreshing;
    } else {
      show(img, false);
      show($("qr-waiting"), true);
      $("qr-countdown").textContent = "";
    }
  }

  function renderPairing(m, d) {
    var p = d.pairing_code;
    if (p && p.code) {
      show($("pairing-result"), true);
      $("pairing-code").textContent = formatCode(p.code);
      var left = remaining(m, "pairing_code");
      $("pairing-countdown").textContent = left > 0 ? fmt(T.pairing_expires, left) : T.pairing_expired;
    } else if (pairingPending) {
      show($("pairing-result"), false);
      $("pairing-error").textContent = T.pairing_requested;
    }
  }

  function renderSync(d) {
    var s = d.sync;
    show($("sync-box"), !!s);
    if (!s) return;
    var name = (T.entities && T.entities[s.entity]) || s.entity || "";
    var total = Math.max(0, Number(s.total) || 0), done = Math.max(0, Number(s.done) || 0);
    $("sync-label").textContent = name + (total ? ": " + done + " / " + total : "");
    $("sync-progress").max = total || 1;
    $("sync-progress").value = s.status === "done" && !total ? 1 : Math.min(done, total || 1);
  }

  // What the owner can do about each error code (codes from the bridge, the pipeline and this page).
  var ACTIONS = {
    link_expired: "restart", logged_out: "restart", session_stopped: "restart", not_awaiting_link: "restart",
    pairing_failed: "use_qr", invalid_phone: "use_pairing", gateway_unavailable: "wait",
    too_many_requests: "wait", request_in_progress: "wait", too_many_restarts: "use_pairing",
    token_expired: "marketplace", unauthorized: "marketplace", forbidden_salon: "marketplace"
  };
  var FATAL = ["token_expired", "unauthorized", "forbidden_salon"];

  function errorAction(code) {
    code = String(code || "");
    if (ACTIONS[code]) return ACTIONS[code];
    if (/activation|sync|welcome/.test(code)) return "support";
    if (/pairing|phone/.test(code)) return "use_qr";
    return "reload";
  }

  function renderError(m) {
    var err = fatal || activeError(m);
    show($("error"), !!err);
    if (!err) return;
    $("error-message").textContent = err.message || err.code;
    var action = errorAction(err.code);
    var button = $("error-action");
    show($("error-link"), action === "marketplace" || action === "support");
    show(button, ["restart", "use_qr", "use_pairing", "reload"].indexOf(action) >= 0);
    button.setAttribute("data-action", action);
    button.textContent = action === "restart" ? T.new_code : action === "use_qr" ? T.use_qr :
      action === "use_pairing" ? T.use_pairing : T.reload;
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
      if (r.httpStatus >= 400 && r.message) $("status").textContent = r.message;
    }).catch(function () {}).then(function () {
      setTimeout(function () { $("error-action").disabled = false; }, 5000);
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
    var phone = normalisePhone($("phone").value);
    if (!phone) {
      $("pairing-error").textContent = boot.lang === "en" ? "Invalid phone number (10–15 digits)." :
        "Неверный формат номера (10–15 цифр).";
      $("phone").setAttribute("aria-invalid", "true");
      $("phone").focus();
      return;
    }
    $("phone").removeAttribute("aria-invalid");
    $("pairing-error").textContent = T.pairing_requested;
    $("pairing-submit").disabled = true;
    post(boot.pairing_path, {phone: phone, salon_id: current}).then(function (r) {
      if (r.httpStatus === 202) { pairingPending = true; }
      else { $("pairing-error").textContent = r.message || ""; }
    }).catch(function () {
      $("pairing-error").textContent = T.retry;
    }).then(function () {
      setTimeout(function () { $("pairing-submit").disabled = false; }, 3000);
    });
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
    else if (action === "use_qr") selectTab("qr", true);
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
    live = isLive;
    $("connection").textContent = isLive ? T.live : T.polling;
    document.body.setAttribute("data-transport", isLive ? "websocket" : "polling");
  }

  function connect() {
    if (fatal) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + boot.ws_path + resumeQuery();
    try { socket = new WebSocket(url); } catch (e) { return fallBack(); }
    socket.onopen = function () { retryDelay = 1000; stopPolling(); setConnection(true); };
    socket.onmessage = function (msg) {
      var env;
      try { env = JSON.parse(msg.data); } catch (e) { return; }
      if (env.type === "error" && !env.seq) {  // refused by the server: the socket is about to close
        if (FATAL.indexOf(env.data.code) >= 0) { fatal = env.data; render(); }
        return;  // anything else (origin, too many sockets): fall back to polling on close
      }
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
      fetch(boot.status_path + "?salon_id=" + b.salon_id, {credentials: "same-origin", cache: "no-store"})
        .then(function (r) {
          if (r.status === 401) {
            return r.json().then(function (j) { fatal = {code: j.error, message: j.message}; stopPolling(); render(); });
          }
          if (r.ok) return r.json().then(function (env) { applySnapshot(env, true); });
        }).catch(function () {});
    });
  }

  function startPolling() {
    if (pollTimer || fatal) return;
    poll();
    pollTimer = setInterval(poll, 3000);
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
  $("pairing-form").addEventListener("submit", requestPairingCode);
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
