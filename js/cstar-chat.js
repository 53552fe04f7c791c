/* cStar loader: defines window.CStarChat at once as a queueing stub and
 * loads the Go WebAssembly SDK when needed: after the load event for a
 * visitor signed in or with a conversation, else at first use. No inline
 * script or style, no eval: it runs under a strict CSP. */
(function () {
  "use strict";
  if (window.CStarChat && window.CStarChat.__loader) return;
  var script = document.currentScript ||
    document.querySelector("script[data-publishable-key]");
  var key = (script && script.getAttribute("data-publishable-key")) || "";
  var base = (script && script.getAttribute("data-api-base")) ||
    (script ? new URL(script.src, location.href).origin : location.origin);
  base = base.replace(/\/+$/, "");
  // sdk.Config's StorageKey, VisitorKey and OutboxKey (tests hold them).
  var mode = key.indexOf("pk_test_") === 0 ? "test" : "live";
  var suffix = mode + "." + key.slice(8, 20);
  var storageKey = "cstar.session.v1." + suffix;
  var visitorKey = "cstar.visitor.v1." + suffix;
  var outboxKey = "cstar.outbox.v1." + suffix;
  var queue = [], pending = [], core = null, failed = null;
  // loaded: after the load event; wanted: the module is needed.
  var loaded = false, wanted = false, started = false;
  var open = false, openHandlers = { open: [], close: [] };
  var memVisitor = null, creating = null, settings = null;
  var resolveReady, rejectReady;
  var ready = new Promise(function (res, rej) { resolveReady = res; rejectReady = rej; });

  // The persisted session and visitor: the getters before the module runs.
  function read(k) {
    try {
      var v = JSON.parse(window.localStorage.getItem(k));
      if (v && v.v === 1 && v.token) return v;
    } catch (e) { /* storage blocked: the SDK works in memory */ }
    return null;
  }
  function saved() { return read(storageKey); }
  function savedVisitor() { return saved() ? null : read(visitorKey) || memVisitor; }

  // Widget options: the tag's data-* attributes, overridden by init().
  var options = {};
  ["ui", "title", "greeting", "color", "position", "locale", "launcher", "ask-email"].forEach(function (k) {
    var v = script && script.getAttribute("data-" + k);
    if (v) options[k.replace(/-(\w)/g, function (_, c) { return c.toUpperCase(); })] = v;
  });

  function error(message, status, code, field) {
    var e = new Error(message);
    e.status = status; e.code = code;
    if (field) e.field = field;
    return e;
  }
  // request resolves with the envelope's data or rejects as the module does.
  function request(method, path, body, headers) {
    var h = { Authorization: "Bearer " + key };
    for (var k in headers || {}) h[k] = headers[k];
    if (body) h["Content-Type"] = "application/json";
    return fetch(base + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", cache: "no-store" }).then(function (r) {
      return r.json().then(function (j) {
        if (r.ok && j.success) return j.data;
        throw error(j.error || "Request failed with status " + r.status, r.status, j.code || "internal", j.field);
      }, function () { throw error("Request failed with status " + r.status, r.status, "internal"); });
    }, function (x) { throw error("Network error: " + (x && x.message), 0, "network"); });
  }

  // visitor resolves once someone who writes has a conversation: a
  // customer, or an anonymous visitor made here at the first message (or
  // email) and kept like a session.
  // Tabs that write at once take turns (Web Locks), so that the second
  // finds the first's visitor rather than making another. The maker holds
  // the lock a moment after writing: a write reaches the browser's other
  // tabs asynchronously.
  function visitor(body) {
    if (saved() || savedVisitor()) return Promise.resolve();
    if (!creating) {
      var locks = (window.navigator || {}).locks;
      creating = new Promise(function (ok, fail) {
        function make() {
          if (saved() || savedVisitor()) return ok();
          return request("POST", "/api/widget/v1/visitor", body || {}).then(function (d) {
            keep({ v: 1, token: d.session.token, expiresAt: d.session.expires_at, visitor: d.visitor });
            ok();
            return new Promise(function (r) { setTimeout(r, 300); });
          }, fail);
        }
        Promise.resolve(locks ? locks.request(visitorKey, make) : make()).catch(fail);
      }).then(function () {
        if (core) core.reload(memVisitor);
        creating = null;
      }, function (x) { creating = null; throw x; });
    }
    return creating;
  }

  function keep(v) {
    try { window.localStorage.setItem(visitorKey, JSON.stringify(v)); } catch (e) { memVisitor = v; }
  }
  function emit(name, payload) {
    openHandlers[name].slice().forEach(function (h) { try { h(payload); } catch (e) { setTimeout(function () { throw e; }); } });
  }
  function setOpen(on, opts) {
    if (on) need();
    if (on === open) return;
    open = on;
    api.__openOpts = on ? opts || {} : null;
    emit(on ? "open" : "close", on ? opts || {} : undefined);
  }

  // The methods are listed once, in wasm/jsbridge/methods.go.
  var api = {
    __loader: true,
    ready: function () { need(); return ready; },
    init: function (o) {
      for (var k in o || {}) if (typeof o[k] === "string") options[k] = o[k];
      return api;
    },
    options: function () { var c = {}; for (var k in options) c[k] = options[k]; return c; },
    open: function (o) { setOpen(true, o && typeof o.message === "string" ? { message: o.message } : {}); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!open); },
    isOpen: function () { return open; },
    prefetch: function () { need(); },
    isIdentified: function () { return core ? core.isIdentified() : !!saved(); },
    getVisitor: function () {
      var v = savedVisitor();
      return v && v.visitor ? { id: v.visitor.id, name: v.visitor.name || "", email: v.visitor.email || null,
        createdAt: v.visitor.created_at } : null;
    },
    setVisitorEmail: function (email) {
      var body = { email: String(email || "") }, v = savedVisitor();
      if (!v && !creating) return visitor(body).then(api.getVisitor);
      return visitor().then(function () {
        v = savedVisitor() || {};
        return request("PATCH", "/api/widget/v1/visitor", body, { "X-CStar-Session": v.token });
      }).then(function (d) { v.visitor = d; keep(v); return api.getVisitor(); });
    },
    getSettings: function () {
      if (!settings) {
        settings = request("GET", "/api/widget/v1/settings").then(function (d) {
          return { team: d.team, availability: d.availability, replyTime: d.reply_time, avatarUrl: d.avatar_url };
        });
        settings.then(null, function () { settings = null; });
      }
      return settings;
    },
    // An empty query lists the newest articles.
    searchArticles: function (q) {
      q = String(q || "").trim();
      return api.getSettings().then(function (s) {
        return request("GET", "/api/library/" + s.team.id + (q ? "/search?limit=8&q=" + encodeURIComponent(q) : "/articles?limit=8"));
      }).then(function (hits) { return hits.map(article); });
    },
    getArticle: function (slug) {
      return api.getSettings().then(function (s) {
        return request("GET", "/api/library/" + s.team.id + "/articles/" + encodeURIComponent(String(slug || "")));
      }).then(article);
    },
    // Password resets and verification, here rather than in the module,
    // which is at its size budget.
    requestPasswordReset: function (email) { return mailed("/password-reset", { email: email }).then(function () {}); },
    resetPassword: function (token, password) {
      // A visitor's token goes along, as with every sign-in: its
      // conversations move into the customer.
      var v = saved() ? null : savedVisitor();
      return mailed("/password-reset/confirm", { token: token, password: password }, v ? { "X-CStar-Visitor": v.token } : {});
    },
    verifyEmail: function (token) { return mailed("/verify-email", { token: token }); },
    unreadCount: function () { return core ? core.unreadCount() : 0; },
    connectionState: function () { return core ? core.connectionState() : "closed"; },
    // Here, not in the module: every byte of the module is downloaded.
    pendingMessages: function () {
      var s = saved(), v = savedVisitor(), out = [];
      var who = s && s.customer ? s.customer.id : v && v.visitor && v.visitor.id;
      try {
        var o = JSON.parse(window.localStorage.getItem(outboxKey));
        ((o && o.items) || []).forEach(function (m) {
          if (who && m.customer === who) out.push({ clientId: m.client_id, body: m.body });
        });
      } catch (e) { /* storage blocked: nothing survives a reload */ }
      return out;
    },
    markRead: function () { if (core) core.markRead(); },
    setTyping: function (on) { if (core) core.setTyping(on); },
    getCustomer: function () {
      if (core) return core.getCustomer();
      var s = saved();
      return s ? s.customer : null;
    },
    on: function (event, handler) {
      var live = true;
      if (event === "ready") {
        ready.then(function () { if (live) handler(); });
        return function () { live = false; };
      }
      if (openHandlers[event]) {
        var h = function (p) { if (live) handler(p); };
        openHandlers[event].push(h);
        return function () { live = false; openHandlers[event] = openHandlers[event].filter(function (x) { return x !== h; }); };
      }
      if (core) return core.on(event, handler);
      var entry = { event: event, handler: handler, off: null, dead: false };
      pending.push(entry);
      return function () { entry.dead = true; if (entry.off) entry.off(); };
    }
  };
  function article(a) { return { id: a.id, title: a.title, slug: a.slug, body: a.body, snippet: a.snippet || "" }; }
  // mailed posts to an endpoint of a mailed link and resolves with its
  // customer (the module's shape). The session a reset signs in with is
  // kept, as is the signed-in customer's newly verified email; the module
  // reads them again.
  function mailed(path, body, h) {
    return request("POST", "/api/widget/v1" + path, body, h).then(function (d) {
      var c = d.customer, s = d.session ? { v: 1, token: d.session.token, expiresAt: d.session.expires_at } : saved();
      if (!c) return;
      c = { id: c.id, email: c.email, name: c.name, externalId: c.external_id, createdAt: c.created_at, emailVerified: c.email_verified };
      if (s && (d.session || s.customer.id === c.id)) {
        s.customer = c;
        try {
          localStorage.setItem(storageKey, JSON.stringify(s));
          if (d.session) localStorage.removeItem(visitorKey);
        } catch (e) { /* blocked */ }
        if (core) core.reload(); else need();
      }
      return c;
    });
  }
  ["signup", "login", "logout", "identify", "sendMessage", "getMessages"].forEach(function (name) {
    api[name] = function () {
      var args = arguments;
      need();
      if (name === "sendMessage") {
        var text = typeof args[0] === "string" ? args[0].trim() : args[0];
        var o = args[1] || {}, ids = Array.isArray(o.articles) ? o.articles.filter(function (x) { return typeof x === "string"; }) : [];
        // A visitor first, unless signed in (or the module refuses the text).
        if (typeof text !== "string" || !text || Array.from(text).length > 4000) return call(name, [text, ids]);
        return visitor().then(function () { return call(name, [text, ids]); });
      }
      return call(name, args);
    };
  });
  function call(name, args) {
    if (core) return core[name].apply(null, args);
    if (failed) return Promise.reject(failed);
    return new Promise(function (res, rej) { queue.push({ name: name, args: args, res: res, rej: rej }); });
  }
  window.CStarChat = api;
  window.__cstarConfig = { publishableKey: key, apiBase: base };
  window.__cstarID = function () {
    var c = window.crypto;
    return c && c.randomUUID ? c.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36);
  };
  // jsbridge.Dial's WebSocket: JSON frames to on(event, frame, code).
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
  // jsbridge.Tabs: a Web Lock elects the tab that holds the one socket;
  // a BroadcastChannel shares its frames.
  if (window.BroadcastChannel && navigator.locks) {
    window.__cstarTabs = function (name, recv, lead) {
      var ch = new BroadcastChannel(name);
      ch.onmessage = function (e) { recv(e.data); };
      navigator.locks.request(name, function () { lead(); return new Promise(function () {}); })["catch"](lead);
      return function (m) { ch.postMessage(m); };
    };
  }

  // The module runs: queued calls replay in order, and ready() resolves
  // without waiting on the network (the chat's socket proves the session).
  window.__cstarAttach = function (c) {
    core = c;
    pending.forEach(function (p) {
      if (!p.dead) p.off = c.on(p.event, p.handler);
    });
    pending = [];
    if (memVisitor) c.reload(memVisitor);
    var replay = queue; queue = [];
    replay.forEach(function (q) { c[q.name].apply(null, q.args).then(q.res, q.rej); });
    var wake = function () { if (document.visibilityState !== "hidden") c.wake(); };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    resolveReady();
    document.dispatchEvent(new Event("cstarchat:ready"));
  };
  // Another tab signed in or out, or made a visitor.
  window.addEventListener("storage", function (e) {
    if (e.key !== storageKey && e.key !== visitorKey && e.key !== null) return;
    if (core) core.reload();
    else if (saved() || savedVisitor()) need();
  });

  function fail(err) {
    failed = err instanceof Error ? err : new Error(String(err));
    failed.status = 0; failed.code = "load_failed";
    queue.forEach(function (q) { q.rej(failed); }); queue = [];
    rejectReady(failed);
  }

  // need asks for the module: now, or at the load event (never before).
  function need() {
    wanted = true;
    if (!loaded || started) return;
    started = true;
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
  }

  function load() {
    loaded = true;
    // The widget UI, built on this API only, unless data-ui="none".
    if (options.ui !== "none") {
      var ui = document.createElement("script");
      ui.src = base + "/widget/cstar-widget.js";
      ui.async = true;
      document.head.appendChild(ui);
    }
    if (wanted || saved() || savedVisitor()) need();
  }
  if (document.readyState === "complete") setTimeout(load, 0);
  else window.addEventListener("load", load);
})();
