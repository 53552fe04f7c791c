/* cStar widget UI: a launcher and a chat panel in a Shadow DOM, built only
 * on the public window.CStarChat API, so a site can switch it off
 * (data-ui="none") and draw its own. No inline script or style, no
 * innerHTML: styles come from a constructable stylesheet, and every text
 * from a message or the server is set as text. */
(function () {
  "use strict";
  var chat = window.CStarChat;
  if (!chat || document.getElementById("cstar-widget-host")) return;

  // Data attributes of the tag and CStarChat.init({...}), as the loader
  // merged them.
  var opts = chat.options ? chat.options() : {};
  function attr(name, def) { return opts[name] ? opts[name] : def; }

  // Built-in languages; add one by adding a table.
  var L10N = {
    en: { open: "Open chat", close: "Close chat", title: "Chat with us", greeting: "Hi! How can we help?",
      login: "Log in", signup: "Sign up", email: "Email", name: "Name", password: "Password",
      toSignup: "New here? Create an account", toLogin: "Have an account? Log in", logout: "Log out",
      send: "Send", placeholder: "Write a message…", typing: "{name} is typing…", pending: "Waiting to send",
      failed: "Not sent.", retry: "Retry", read: "Read", open_: "Online", connecting: "Connecting…",
      closed: "Offline", messages: "Messages", you: "You", unread: "{n} unread",
      unavailable: "Temporarily unavailable, retrying…" },
    de: { open: "Chat öffnen", close: "Chat schließen", title: "Schreiben Sie uns", greeting: "Hallo! Wie können wir helfen?",
      login: "Anmelden", signup: "Registrieren", email: "E-Mail", name: "Name", password: "Passwort",
      toSignup: "Neu hier? Konto erstellen", toLogin: "Schon ein Konto? Anmelden", logout: "Abmelden",
      send: "Senden", placeholder: "Nachricht schreiben…", typing: "{name} schreibt…", pending: "Wird gesendet, sobald verbunden",
      failed: "Nicht gesendet.", retry: "Erneut senden", read: "Gelesen", open_: "Online", connecting: "Verbinde…",
      closed: "Offline", messages: "Nachrichten", you: "Sie", unread: "{n} ungelesen",
      unavailable: "Vorübergehend nicht erreichbar, neuer Versuch läuft…" },
    es: { open: "Abrir chat", close: "Cerrar chat", title: "Escríbenos", greeting: "¡Hola! ¿En qué podemos ayudarte?",
      login: "Iniciar sesión", signup: "Registrarse", email: "Correo", name: "Nombre", password: "Contraseña",
      toSignup: "¿Nuevo? Crea una cuenta", toLogin: "¿Ya tienes cuenta? Inicia sesión", logout: "Cerrar sesión",
      send: "Enviar", placeholder: "Escribe un mensaje…", typing: "{name} está escribiendo…", pending: "Pendiente de envío",
      failed: "No enviado.", retry: "Reintentar", read: "Leído", open_: "En línea", connecting: "Conectando…",
      closed: "Sin conexión", messages: "Mensajes", you: "Tú", unread: "{n} sin leer",
      unavailable: "No disponible temporalmente, reintentando…" }
  };
  var lang = (attr("locale", (navigator.language || "en")).toLowerCase().split("-")[0]);
  var T = L10N[lang] || L10N.en;
  var color = /^#[0-9a-fA-F]{6}$/.test(attr("color", "")) ? attr("color") : "#1f5fd6";
  var left = attr("position", "right") === "left";

  var CSS = ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launcher{position:fixed;bottom:20px;" + (left ? "left" : "right") + ":20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646;display:block}" +
    ".launcher svg{width:28px;height:28px;fill:#fff}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#b3261e;color:#fff;font-size:12px;line-height:20px;padding:0 6px}" +
    ".badge[hidden],.launcher[hidden],.panel[hidden],[hidden]{display:none!important}" +
    ".panel{position:fixed;bottom:88px;" + (left ? "left" : "right") + ":20px;width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 110px);" +
    "background:#fff;color:#1d2433;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;z-index:2147483647;font-size:15px;line-height:1.45}" +
    "header{background:var(--c);color:#fff;padding:12px 14px;display:flex;gap:8px;align-items:flex-start}" +
    "header .t{flex:1}header h2{margin:0;font-size:17px}header p{margin:2px 0 0;font-size:13px}" +
    ".state{font-size:12px;opacity:.95}" +
    "header button{background:transparent;border:1px solid rgba(255,255,255,.7);color:#fff;border-radius:6px;padding:3px 8px;cursor:pointer;font-size:13px}" +
    ".body{flex:1;overflow:auto;padding:12px 14px;background:#f6f7fb}" +
    "form.auth{display:flex;flex-direction:column;gap:8px}" +
    "label{display:flex;flex-direction:column;font-size:13px;gap:3px;color:#1d2433}" +
    "input,textarea{font:inherit;padding:8px;border:1px solid #6b7488;border-radius:6px;color:#1d2433;background:#fff}" +
    "button.primary{background:var(--c);color:#fff;border:0;border-radius:6px;padding:9px 12px;font:inherit;cursor:pointer}" +
    "button.link{background:none;border:0;color:#1f4fb0;text-decoration:underline;cursor:pointer;font:inherit;padding:0}" +
    "button:disabled{opacity:.6;cursor:default}" +
    ":focus-visible{outline:3px solid #f2a900;outline-offset:2px}" +
    ".err{color:#b3261e;font-size:13px;min-height:1em;margin:0}" +
    ".note{color:#4a5468;font-size:13px;margin:0}" +
    "ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}" +
    "li{max-width:80%;padding:8px 11px;border-radius:12px;background:#fff;border:1px solid #dde2ec;align-self:flex-start}" +
    "li.mine{align-self:flex-end;background:var(--c);color:#fff;border-color:var(--c)}" +
    "li.mine a{color:#fff}li a{color:#1f4fb0}" +
    "li .who{display:block;font-size:12px;font-weight:600}" +
    "li .text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}" +
    "li .meta{display:block;font-size:11px;opacity:.85;margin-top:2px}" +
    "li.pending{opacity:.7}li.failed{background:#fdecea;color:#1d2433;border-color:#b3261e}" +
    ".typing{font-size:13px;color:#4a5468;min-height:1.2em;margin:6px 0 0}" +
    ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #dde2ec;background:#fff}" +
    ".composer textarea{flex:1;resize:none;height:42px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@media (max-width:480px){.panel{inset:0;width:100vw;max-width:none;height:100vh;max-height:none;border-radius:0}}";

  function el(tagName, props, kids) {
    var e = document.createElement(tagName);
    for (var k in props || {}) {
      if (k === "text") e.textContent = props[k];
      else if (k === "cls") e.className = props[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), props[k]);
      else e.setAttribute(k, props[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }

  // Message text as text nodes, with http(s) links as anchors.
  function linkify(p, text) {
    var re = /\bhttps?:\/\/[^\s<>"']+/g, at = 0, m;
    while ((m = re.exec(text))) {
      var url = m[0].replace(/[.,;:!?)\]]+$/, "");
      p.appendChild(document.createTextNode(text.slice(at, m.index)));
      var ok = false;
      try { ok = /^https?:$/.test(new URL(url).protocol); } catch (e) { ok = false; }
      p.appendChild(ok ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }) : document.createTextNode(url));
      at = m.index + url.length;
      re.lastIndex = at;
    }
    p.appendChild(document.createTextNode(text.slice(at)));
  }

  // A custom element as host: page rules such as div { display: none }
  // do not match it.
  var host = el("cstar-widget", { id: "cstar-widget-host" });
  var root = host.attachShadow({ mode: "open" });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) { /* very old browsers: unstyled, still usable */ }
  host.style.setProperty("--c", color); // a CSSOM property, not an inline style attribute

  var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  var badge = el("span", { cls: "badge", hidden: "" });
  var launcher = el("button", { cls: "launcher", type: "button", "aria-label": T.open, "aria-expanded": "false",
    "aria-controls": "cstar-panel", part: "launcher" }, [icon, badge]);
  if (attr("launcher", "") === "hidden") launcher.hidden = true;

  var state = el("span", { cls: "state", role: "status" });
  var logoutBtn = el("button", { type: "button", text: T.logout, hidden: "" });
  var closeBtn = el("button", { type: "button", "aria-label": T.close, text: "✕" });
  var body = el("div", { cls: "body" });
  var typingLine = el("p", { cls: "typing", "aria-live": "polite" });
  var input = el("textarea", { "aria-label": T.placeholder, placeholder: T.placeholder, rows: "1", maxlength: "4000" });
  var sendBtn = el("button", { cls: "primary", type: "submit", text: T.send });
  var composer = el("form", { cls: "composer", hidden: "" }, [input, sendBtn]);
  var panel = el("div", { id: "cstar-panel", cls: "panel", role: "dialog", "aria-modal": "true", "aria-label": attr("title", T.title), hidden: "" }, [
    el("header", {}, [el("div", { cls: "t" }, [el("h2", { text: attr("title", T.title) }), el("p", { text: attr("greeting", T.greeting) }), state]), logoutBtn, closeBtn]),
    body, composer]);
  root.appendChild(launcher);
  root.appendChild(panel);

  var log = el("ol", { role: "log", "aria-live": "polite", "aria-label": T.messages });
  var items = {}; // message id or client key → li
  var mode = "signup";
  // The server could not serve the last request for the moment: the
  // header says so until the chat works again.
  var unavailable = false, retryTimer = 0;
  function isUnavailable(x) { return x && x.code === "unavailable"; }

  function authForm() {
    clearTimeout(retryTimer);
    body.textContent = "";
    composer.hidden = true;
    logoutBtn.hidden = true;
    var signup = mode === "signup";
    var err = el("p", { cls: "err", role: "alert" });
    var note = el("p", { cls: "note", role: "status" });
    var fields = [el("label", { text: T.email }, [el("input", { name: "email", type: "email", autocomplete: "email", required: "" })])];
    if (signup) fields.unshift(el("label", { text: T.name }, [el("input", { name: "name", autocomplete: "name", required: "" })]));
    fields.push(el("label", { text: T.password }, [el("input", { name: "password", type: "password", required: "",
      autocomplete: signup ? "new-password" : "current-password" })]));
    var submit = el("button", { cls: "primary", type: "submit", text: signup ? T.signup : T.login });
    var tries = 0;
    function attempt() {
      var f = form.elements, p = { email: f.email.value, password: f.password.value };
      if (signup) p.name = f.name.value;
      (signup ? chat.signup(p) : chat.login(p)).then(function () { note.textContent = ""; }, function (x) {
        if (isUnavailable(x)) {
          // Not the visitor's mistake: say so quietly and try again.
          note.textContent = T.unavailable;
          retryTimer = setTimeout(attempt, Math.min(30000, 1000 << Math.min(tries++, 5)) * (0.5 + Math.random() / 2));
          return;
        }
        note.textContent = "";
        err.textContent = x && x.message ? x.message : String(x);
        submit.disabled = false;
      });
    }
    var form = el("form", { cls: "auth", "aria-label": signup ? T.signup : T.login, onsubmit: function (e) {
      e.preventDefault();
      err.textContent = "";
      submit.disabled = true;
      tries = 0;
      attempt();
    } }, fields.concat([note, err, submit, el("button", { cls: "link", type: "button", text: signup ? T.toLogin : T.toSignup,
      onclick: function () { mode = signup ? "login" : "signup"; authForm(); focusFirst(); } })]));
    body.appendChild(form);
  }

  function conversation() {
    body.textContent = "";
    log.textContent = "";
    items = {};
    body.appendChild(log);
    body.appendChild(typingLine);
    composer.hidden = false;
    logoutBtn.hidden = false;
    // Sent before a reload and not stored yet: pending until the server
    // acknowledges them (the message event replaces them).
    (chat.pendingMessages ? chat.pendingMessages() : []).forEach(function (p) { pending(p.body, "c-" + p.clientId); });
    chat.getMessages().then(function (ms) { ms.forEach(function (m) { show(m); }); markRead(); }, function () {});
  }

  // pending shows text as an own message waiting to be sent, under key.
  function pending(text, key) {
    var li = el("li", { cls: "mine pending", "data-seq": "Infinity" }, [el("span", { cls: "who", text: T.you }), el("p", { cls: "text", text: text }),
      el("span", { cls: "meta", text: chat.connectionState() === "open" && !unavailable ? "…" : T.pending })]);
    log.appendChild(li);
    body.scrollTop = body.scrollHeight;
    items[key] = li;
    return li;
  }

  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }

  // show adds or updates a message; key is the pending item it replaces.
  function show(m, key) {
    var pend = key && items[key], li = items[m.id];
    // The message event may have shown it before the send resolved.
    if (li && pend && pend !== li) pend.parentNode && pend.parentNode.removeChild(pend);
    else if (!li) li = pend;
    var mine = m.author && m.author.type === "customer";
    if (!li) {
      li = el("li");
      var seq = m.seq || Infinity, next = null;
      Array.prototype.some.call(log.children, function (c) { if (+c.getAttribute("data-seq") > seq) { next = c; return true; } return false; });
      log.insertBefore(li, next);
    }
    if (key) delete items[key];
    items[m.id] = li;
    li.textContent = "";
    li.className = mine ? "mine" : "theirs";
    li.setAttribute("data-seq", m.seq);
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-ticket", m.ticketId);
    li.appendChild(el("span", { cls: "who", text: mine ? T.you : m.author.name }));
    var p = el("p", { cls: "text" });
    linkify(p, m.body);
    li.appendChild(p);
    li.appendChild(el("span", { cls: "meta", text: time(m.createdAt) }));
    mark(li);
    body.scrollTop = body.scrollHeight;
  }

  // Read marks: the agents' read position per ticket, from ticket events.
  var agentRead = {};
  function mark(li) {
    var meta = li.querySelector(".meta"), seq = +li.getAttribute("data-seq");
    if (li.className !== "mine" || !meta || li.hasAttribute("data-read")) return;
    if (seq <= (agentRead[li.getAttribute("data-ticket")] || 0)) {
      li.setAttribute("data-read", "");
      meta.appendChild(document.createTextNode(" · " + T.read));
    }
  }

  function sendText(text, li) {
    var key = "pending-" + Math.random().toString(36).slice(2);
    if (li) items[key] = li;
    else li = pending(text, key);
    return chat.sendMessage(text).then(function (m) { show(m, key); }, function (x) {
      li.className = "mine failed";
      var meta = li.querySelector(".meta");
      meta.textContent = T.failed + " " + (x && x.message ? x.message : "") + " ";
      meta.appendChild(el("button", { cls: "link", type: "button", text: T.retry, onclick: function () {
        li.className = "mine pending";
        meta.textContent = T.pending;
        sendText(text, li);
      } }));
      throw x;
    });
  }

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || sendBtn.disabled) return;
    sendBtn.disabled = input.disabled = true;
    chat.setTyping(false);
    sendText(text).then(function () { input.value = ""; }, function () {}).then(function () {
      sendBtn.disabled = input.disabled = false;
      input.focus();
    });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit ? composer.requestSubmit() : sendBtn.click(); }
  });
  input.addEventListener("input", function () { chat.setTyping(input.value.length > 0); });

  function isOpen() { return !panel.hidden; }
  function markRead() { if (isOpen() && chat.isIdentified()) chat.markRead(); }
  function focusables() {
    return Array.prototype.filter.call(panel.querySelectorAll("button,input,textarea,a[href]"), function (x) {
      return !x.disabled && x.offsetParent !== null;
    });
  }
  function focusFirst() {
    var f = panel.querySelector("input,textarea:not([disabled])") || focusables()[0];
    if (f) f.focus();
  }
  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? T.close : T.open);
    if (open) { markRead(); focusFirst(); } else launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(!isOpen()); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  logoutBtn.addEventListener("click", function () { chat.logout().then(null, function () {}); });
  // Escape closes; Tab stays inside the open panel.
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false); return; }
    if (e.key !== "Tab") return;
    var f = focusables(), first = f[0], last = f[f.length - 1], cur = root.activeElement;
    if (e.shiftKey && cur === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && cur === last) { e.preventDefault(); first.focus(); }
  });

  function setBadge(n) {
    badge.hidden = !(n > 0);
    badge.textContent = n > 9 ? "9+" : String(n);
    launcher.setAttribute("aria-label", (isOpen() ? T.close : T.open) + (n > 0 ? ", " + fmt(T.unread, { n: n }) : ""));
  }
  function setState(s) {
    state.textContent = unavailable ? T.unavailable : s === "open" ? T.open_ : s === "connecting" ? T.connecting : T.closed;
  }
  function setUnavailable(on) {
    unavailable = on;
    setState(chat.connectionState());
    if (on) Array.prototype.forEach.call(log.querySelectorAll("li.pending .meta"), function (m) { m.textContent = T.pending; });
  }

  chat.on("message", function (m) {
    if (!chat.isIdentified() || composer.hidden) return;
    var key = m.clientId && items["c-" + m.clientId] ? "c-" + m.clientId : undefined;
    show(m, key);
    typingLine.textContent = "";
    markRead();
    // An own message stored: the server answers again.
    if (m.author && m.author.type === "customer" && unavailable) setUnavailable(false);
  });
  // A send the server could not store for the moment stays pending and is
  // sent again by the SDK: the header says it is waiting, not an error.
  chat.on("error", function (x) { if (isUnavailable(x) && !composer.hidden) setUnavailable(true); });
  // A message that arrives while the panel is open is read at once.
  chat.on("unread", function (n) { if (n > 0 && isOpen()) markRead(); else setBadge(n); });
  // A resumed connection means the server reads and writes again.
  chat.on("connection", function (s) { if (s === "open") unavailable = false; setState(s); });
  chat.on("typing", function (ev) {
    if (!ev || (ev.author && ev.author.type === "customer")) return;
    // The SDK reports the expiry too (typing false).
    typingLine.textContent = ev.typing ? fmt(T.typing, { name: ev.author.name }) : "";
  });
  chat.on("ticket", function (t) {
    if (!t || !(t.agentReadSeq > (agentRead[t.id] || 0))) return;
    agentRead[t.id] = t.agentReadSeq;
    Array.prototype.forEach.call(log.children, mark);
  });
  chat.on("identified", function () { conversation(); if (isOpen()) focusFirst(); });
  chat.on("logout", function () { mode = "login"; authForm(); });

  function start() {
    document.body.appendChild(host);
    setState(chat.connectionState());
    if (chat.isIdentified()) conversation(); else authForm();
    setBadge(chat.unreadCount());
  }
  chat.ready().then(start, start);
})();
