/* cStar loader: defines window.CStarChat at once as a queueing stub, then
 * loads the Go WebAssembly SDK after the page's load event. No inline
 * scripts or styles, no eval: it runs under a strict Content-Security-Policy
 * (script-src needs the API origin and 'wasm-unsafe-eval'). */
(function () {
  "use strict";
  if (window.CStarChat && window.CStarChat.__loader) return;
  var script = document.currentScript ||
    document.querySelector("script[data-publishable-key]");
  var key = (script && script.getAttribute("data-publishable-key")) || "";
  var base = (script && script.getAttribute("data-api-base")) ||
    (script ? new URL(script.src, location.href).origin : location.origin);
  base = base.replace(/\/+$/, "");
  // The module's sdk.Config.StorageKey, read before the module runs.
  var mode = key.indexOf("pk_test_") === 0 ? "test" : "live";
  var storageKey = "cstar.session.v1." + mode + "." + key.slice(8, 20);
  // The module's sdk.Config.OutboxKey: messages sent and not stored yet.
  var outboxKey = "cstar.outbox.v1." + mode + "." + key.slice(8, 20);
  var queue = [], pending = [], core = null, failed = null;
  var resolveReady, rejectReady;
  var ready = new Promise(function (res, rej) { resolveReady = res; rejectReady = rej; });

  // The persisted session, read synchronously so that isIdentified() and
  // getCustomer() are right before the module has loaded.
  function saved() {
    try {
      var v = JSON.parse(window.localStorage.getItem(storageKey));
      if (v && v.v === 1 && v.token) return v;
    } catch (e) { /* storage blocked: the SDK works in memory */ }
    return null;
  }

  // Widget options: the tag's data-* attributes, overridden by init().
  var options = {};
  ["ui", "title", "greeting", "color", "position", "locale", "launcher"].forEach(function (k) {
    var v = script && script.getAttribute("data-" + k);
    if (v) options[k] = v;
  });

  // The methods are listed once, in wasm/jsbridge/methods.go; its tests
  // check this file.
  var api = {
    __loader: true,
    ready: function () { return ready; },
    init: function (o) {
      for (var k in o || {}) if (typeof o[k] === "string") options[k] = o[k];
      return api;
    },
    options: function () { var c = {}; for (var k in options) c[k] = options[k]; return c; },
    isIdentified: function () { return core ? core.isIdentified() : !!saved(); },
    unreadCount: function () { return core ? core.unreadCount() : 0; },
    connectionState: function () { return core ? core.connectionState() : "closed"; },
    // Read here, not in the module: every byte of the module is downloaded.
    pendingMessages: function () {
      var s = saved(), out = [];
      try {
        var v = JSON.parse(window.localStorage.getItem(outboxKey));
        ((v && v.items) || []).forEach(function (m) {
          if (s && s.customer && m.customer === s.customer.id) out.push({ clientId: m.client_id, body: m.body });
        });
      } catch (e) { /* storage blocked: nothing survives a reload */ }
      return out;
    },
    // Nothing is held before the module runs: nothing to mark or type in.
    markRead: function () { if (core) core.markRead(); },
    setTyping: function (on) { if (core) core.setTyping(on); },
    getCustomer: function () {
      if (core) return core.getCustomer();
      var s = saved();
      return s ? s.customer : null;
    },
    on: function (event, handler) {
      if (event === "ready") {
        // The loader owns readiness: the module never emits it.
        var live = true;
        ready.then(function () { if (live) handler(); });
        return function () { live = false; };
      }
      if (core) return core.on(event, handler);
      var entry = { event: event, handler: handler, off: null, dead: false };
      pending.push(entry);
      return function () { entry.dead = true; if (entry.off) entry.off(); };
    }
  };
  ["signup", "login", "logout", "identify", "sendMessage", "getMessages"].forEach(function (name) {
    api[name] = function () {
      var args = arguments;
      if (name === "sendMessage" && typeof args[0] === "string") args = [args[0].trim()];
      if (core) return core[name].apply(null, args);
      if (failed) return Promise.reject(failed);
      return new Promise(function (res, rej) { queue.push({ name: name, args: args, res: res, rej: rej }); });
    };
  });
  window.CStarChat = api;
  window.__cstarConfig = { publishableKey: key, apiBase: base };
  window.__cstarID = function () {
    var c = window.crypto;
    return c && c.randomUUID ? c.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36);
  };
  // The chat's WebSocket for the module's jsbridge.Dial: JSON frames to
  // on(event, frame, code); null when the browser refuses the URL.
  window.__cstarSocket = function (url, on) {
    var ws;
    try { ws = new WebSocket(url); } catch (e) { return null; }
    ws.onopen = function () { on("open", null, 0); };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      on("frame", f, 0);
    };
    ws.onclose = function (e) { on("close", null, e.code); };
    return {
      send: function (f) { ws.send(JSON.stringify(f)); },
      close: function () { ws.onopen = ws.onmessage = ws.onclose = null; ws.close(1000); }
    };
  };
  // One chat websocket per browser: the tabs of a site elect a leader with
  // a Web Lock, held until the tab goes, and share frames over a
  // BroadcastChannel of the same name (the module's jsbridge.Tabs).
  if (window.BroadcastChannel && navigator.locks) {
    window.__cstarTabs = function (name, recv, lead) {
      var ch = new BroadcastChannel(name);
      ch.onmessage = function (e) { recv(e.data); };
      navigator.locks.request(name, function () { lead(); return new Promise(function () {}); })["catch"](lead);
      return function (m) { ch.postMessage(m); };
    };
  }

  // Called by the module once it runs: calls queued before are replayed in
  // order, then ready() resolves.
  window.__cstarAttach = function (c) {
    core = c;
    pending.forEach(function (p) {
      if (!p.dead) p.off = c.on(p.event, p.handler);
    });
    pending = [];
    var replay = queue; queue = [];
    replay.forEach(function (q) { c[q.name].apply(null, q.args).then(q.res, q.rej); });
    window.addEventListener("storage", function (e) { if (e.key === storageKey || e.key === null) c.reload(); });
    // A dropped chat connection returns at once, without its backoff.
    var wake = function () { if (document.visibilityState !== "hidden") c.wake(); };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    var done = function () { resolveReady(); document.dispatchEvent(new Event("cstarchat:ready")); };
    if (c.isIdentified()) c.refresh().then(done, done); else done();
  };

  function fail(err) {
    failed = err instanceof Error ? err : new Error(String(err));
    failed.status = 0; failed.code = "load_failed";
    queue.forEach(function (q) { q.rej(failed); }); queue = [];
    rejectReady(failed);
  }

  function load() {
    var glue = document.createElement("script");
    glue.src = base + "/widget/wasm_exec.js";
    glue.async = true;
    glue.onerror = function () { fail(new Error("CStarChat: could not load wasm_exec.js")); };
    glue.onload = function () {
      var go = new window.Go();
      var url = base + "/widget/__CSTAR_WASM__";
      var start = WebAssembly.instantiateStreaming
        ? WebAssembly.instantiateStreaming(fetch(url), go.importObject)
        : fetch(url).then(function (r) { return r.arrayBuffer(); })
          .then(function (b) { return WebAssembly.instantiate(b, go.importObject); });
      start.then(function (r) { go.run(r.instance); }, fail);
    };
    document.head.appendChild(glue);
    // The widget UI (cstar-widget.js), built on this public API only,
    // unless the site draws its own (data-ui="none" or init({ui: "none"})
    // before the load event).
    if (options.ui !== "none") {
      var ui = document.createElement("script");
      ui.src = base + "/widget/cstar-widget.js";
      ui.async = true;
      document.head.appendChild(ui);
    }
  }
  if (document.readyState === "complete") setTimeout(load, 0);
  else window.addEventListener("load", load);
})();
