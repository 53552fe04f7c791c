// cStar dashboard: the little that pages need beyond HTML. Live updates
// come over one websocket per page (the session cookie authenticates it);
// every change goes through the same forms a page without script would
// post, with the CSRF token in a header. No inline script or style.
"use strict";
(function () {
  var body = document.body;
  var base = body.getAttribute("data-base") || "/app";
  var page = body.getAttribute("data-page");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var liveStatus = document.getElementById("live-status");
  var baseTitle = document.title;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function announce(text) { if (liveStatus) { liveStatus.textContent = ""; setTimeout(function () { liveStatus.textContent = text; }, 50); } }

  // post sends a form's fields (or an object) as a form post that asks for
  // JSON back.
  function post(url, data) {
    var params = new URLSearchParams();
    if (data instanceof HTMLFormElement) {
      new FormData(data).forEach(function (v, k) { params.append(k, v); });
    } else {
      Object.keys(data || {}).forEach(function (k) { params.append(k, data[k]); });
    }
    return fetch(url, { method: "POST", credentials: "same-origin", body: params,
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (j) {
        if (!res.ok) { var e = new Error(j.error || ("Error " + res.status)); e.status = res.status; throw e; }
        return j;
      });
    });
  }

  // Times are rendered in UTC; show them in the reader's zone.
  function localTimes(root) {
    $$("time[datetime]", root).forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }); }
    });
  }
  localTimes(document);

  // A link's token (an invitation, a password reset) comes in the address's
  // fragment, which no server sees: put it in the form, take it out of the
  // address (and so out of the history), and send a form that only carries
  // it. An older invitation link carried it as ?token=; it is taken the
  // same way.
  (function () {
    var input = $("input[data-fragment-token]");
    if (!input) { return; }
    var hash = new URLSearchParams(location.hash.slice(1));
    var tok = hash.get("token") || new URLSearchParams(location.search).get("token");
    if (!tok) { return; }
    input.value = tok;
    history.replaceState(null, "", location.pathname);
    var form = input.form;
    if (form && form.hasAttribute("data-autosubmit")) { form.submit(); }
    else if (form) { var pw = $("input[type=password]", form); if (pw) { pw.focus(); } }
  })();

  // Forms that need a second thought.
  $$("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); } });
  });

  // Copy buttons: a secret shown once, a link, a snippet.
  $$("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      var done = function () { b.textContent = "Copied"; announce("Copied to the clipboard"); setTimeout(function () { b.textContent = "Copy"; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(el.value).then(done, function () { el.select(); });
      } else {
        el.focus(); el.select();
        try { document.execCommand("copy"); done(); } catch (err) { announce("Press Ctrl+C to copy"); }
      }
    });
  });

  // The live connection: the team's events after pos, in order, resumed
  // from the last one handled after a drop. A signed-out session (4502)
  // goes to the sign-in page; a reset reloads the page.
  function live(pos, onEvent) {
    var wait = 500, ws;
    function connect() {
      var scheme = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(scheme + "//" + location.host + base + "/live?after=" + pos);
      ws.onmessage = function (m) {
        var ev;
        try { ev = JSON.parse(m.data); } catch (err) { return; }
        if (ev.type === "reset") { location.reload(); return; }
        if (ev.type === "ready") { wait = 500; body.setAttribute("data-live", "ready"); }
        if (ev.pos) { pos = Math.max(pos, ev.pos); }
        onEvent(ev);
      };
      ws.onclose = function (e) {
        body.setAttribute("data-live", "closed");
        if (e.code === 4502) { location.href = "/app/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
        if (e.code >= 4500 && e.code < 5000) { return; }
        setTimeout(connect, wait);
        wait = Math.min(wait * 2, 15000);
      };
    }
    connect();
    return {
      send: function (f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); } }
    };
  }

  // Counts stop past 1000 (the server's CountCap).
  function shown(n) { return n > 1000 ? "1000+" : String(n); }

  // The title shows how many open conversations have unread messages.
  var countsTimer = null;
  function refreshCounts(status, view, then) {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(function () {
      fetch(base + "/inbox/counts?status=" + encodeURIComponent(status || "open") + "&view=" + encodeURIComponent(view || "all"),
        { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (n) {
          if (!n) { return; }
          document.title = (n.unread_open > 0 ? "(" + shown(n.unread_open) + ") " : "") + baseTitle;
          if (then) { then(n); }
        });
    }, 300);
  }

  // Browser notifications, once the agent has allowed them.
  var notifyBtn = document.getElementById("notify");
  if (notifyBtn && "Notification" in window && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyBtn.hidden = true; });
    });
  }
  function notify(ev, here) {
    var m = ev.message;
    if (!m || m.author.type !== "customer" || m.internal) { return; }
    announce("New message from " + m.author.name);
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    if (here && !document.hidden) { return; }
    var n = new Notification("New message from " + m.author.name, { body: m.body.slice(0, 140), tag: m.ticket_id });
    n.onclick = function () { window.focus(); location.href = base + "/conversations/" + m.ticket_id; };
  }

  // --- The inbox ---------------------------------------------------------
  function inbox() {
    var root = $(".inbox");
    var list = document.getElementById("conversations");
    var empty = document.getElementById("empty");
    var status = root.getAttribute("data-status"), view = root.getAttribute("data-view");
    var firstPage = !/[?&]cursor=/.test(location.search);
    var pending = {};
    function refreshRow(id) {
      if (pending[id]) { return; }
      pending[id] = setTimeout(function () {
        delete pending[id];
        fetch(base + "/inbox/rows/" + encodeURIComponent(id) + "?status=" + status + "&view=" + view,
          { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
          var old = document.getElementById("conv-" + id);
          if (r.status === 204) { if (old) { old.remove(); } empty.hidden = !!list.children.length; return; }
          if (!r.ok) { return; }
          return r.text().then(function (html) {
            var t = document.createElement("template");
            t.innerHTML = html.trim();
            var li = t.content.firstElementChild;
            if (!li) { return; }
            var hadFocus = old && old.contains(document.activeElement);
            if (old) { old.remove(); } else if (!firstPage) { return; }
            li.classList.add("fresh");
            list.insertBefore(li, list.firstElementChild);
            localTimes(li);
            empty.hidden = true;
            if (hadFocus) { $("a", li).focus(); }
          });
        });
      }, 150);
    }
    function counts(n) {
      ["all", "unassigned", "mine"].forEach(function (k) {
        var c = $('[data-count="' + k + '"]'); if (c) { c.textContent = shown(n[k]); }
        var u = $('[data-unread="' + k + '"]');
        if (u) { u.hidden = !n["unread_" + k]; u.textContent = shown(n["unread_" + k]) + " unread"; }
      });
    }
    refreshCounts(status, view, counts);
    live(+root.getAttribute("data-pos") || 0, function (ev) {
      if (ev.ticket_id && /^(ticket\.created|ticket\.updated|message\.created)$/.test(ev.type)) {
        refreshRow(ev.ticket_id);
        refreshCounts(status, view, counts);
      }
      if (ev.type === "message.created") { notify(ev, false); }
    });
  }

  // --- A conversation ----------------------------------------------------
  function conversation() {
    var root = document.getElementById("conversation");
    var id = root.getAttribute("data-ticket");
    var list = document.getElementById("messages");
    var history = $(".history");
    var typingEl = document.getElementById("typing");
    var form = document.getElementById("composer");
    var textarea = document.getElementById("body");
    var errorEl = document.getElementById("composer-error");
    var customerRead = +root.getAttribute("data-customer-read") || 0;
    var sock;

    function atBottom() { return history.scrollHeight - history.scrollTop - history.clientHeight < 80; }
    function toBottom() { history.scrollTop = history.scrollHeight; }

    function messageEl(m) {
      var li = document.createElement("li");
      li.className = "msg " + (m.internal ? "note" : m.author.type);
      li.id = "msg-" + m.id;
      li.setAttribute("data-seq", m.seq);
      li.setAttribute("data-id", m.id);
      li.setAttribute("data-author", m.author.type);
      var by = document.createElement("p"); by.className = "by";
      var name = document.createElement("span"); name.className = "name";
      name.textContent = (m.internal ? "Internal note · " : "") + m.author.name;
      var time = document.createElement("time"); time.setAttribute("datetime", m.created_at);
      var seen = document.createElement("span"); seen.className = "seen"; seen.hidden = true; seen.textContent = " · Seen";
      by.appendChild(name); by.appendChild(document.createTextNode(" ")); by.appendChild(time); by.appendChild(seen);
      var p = document.createElement("p"); p.className = "body"; p.textContent = m.body;
      li.appendChild(by); li.appendChild(p);
      localTimes(li);
      return li;
    }
    function add(m) {
      if (document.getElementById("msg-" + m.id)) { return false; }
      var stick = atBottom();
      var li = messageEl(m), next = null;
      $$(".msg", list).some(function (c) { if (+c.getAttribute("data-seq") > m.seq) { next = c; return true; } return false; });
      list.insertBefore(li, next);
      markSeen();
      if (stick || m.author.type !== "customer") { toBottom(); }
      return true;
    }
    // The customer's read position: "Seen" on the last reply they have read.
    function markSeen() {
      var last = null;
      $$(".msg", list).forEach(function (li) {
        var s = $(".seen", li); if (s) { s.hidden = true; }
        if (li.getAttribute("data-author") !== "customer" && !li.classList.contains("note") && +li.getAttribute("data-seq") <= customerRead) { last = li; }
      });
      if (last) { $(".seen", last).hidden = false; }
    }
    var readTimer = null;
    function markRead(seq) {
      clearTimeout(readTimer);
      readTimer = setTimeout(function () { post(base + "/conversations/" + id + "/read", { seq: seq }).catch(function () {}); }, 500);
    }
    var typingTimer = null;
    function showTyping(name, on) {
      clearTimeout(typingTimer);
      // Written only when it changes: announced once as the customer
      // starts typing, not at each of their typing events.
      var text = on ? name + " is typing…" : "";
      if (typingEl.textContent !== text) { typingEl.textContent = text; }
      if (on) { typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 6500); }
    }
    function setStatus(st) {
      var label = document.getElementById("status-label");
      if (label.getAttribute("data-status") === st) { return; }
      label.setAttribute("data-status", st); label.textContent = st;
      var f = $(".status-form"), buttons = st === "closed" ? [["open", "Reopen"]] :
        [["closed", "Close"], st === "open" ? ["pending", "Mark pending"] : ["open", "Mark open"]];
      $$("button", f).forEach(function (b) { b.remove(); });
      buttons.forEach(function (b) {
        var el = document.createElement("button"); el.type = "submit"; el.name = "status"; el.value = b[0]; el.textContent = b[1];
        f.appendChild(el);
      });
      announce("The conversation is now " + st);
    }

    // Enter sends, Shift+Enter is a new line.
    textarea.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", { cancelable: true })); }
      }
    });
    var sending = false;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (sending || !textarea.value.trim()) { return; }
      sending = true;
      errorEl.hidden = true;
      var data = { body: textarea.value, client_id: (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()),
        internal: $('input[name="internal"]:checked', form).value };
      post(form.action, data).then(function (m) {
        textarea.value = "";
        add(m);
        stopTyping();
        announce(m.internal ? "Note added" : "Reply sent");
      }, function (err) {
        errorEl.textContent = err.message; errorEl.hidden = false;
      }).then(function () { sending = false; textarea.focus(); });
    });
    $$('input[name="internal"]', form).forEach(function (r) {
      r.addEventListener("change", function () {
        var note = $('input[name="internal"]:checked', form).value === "1";
        form.classList.toggle("as-note", note);
        textarea.placeholder = note ? "Write a note for your team (the customer never sees it)…" : "Write a reply…";
        document.getElementById("send").textContent = note ? "Add note" : "Send";
      });
    });
    // Typing goes to the customer over the live connection, at most every
    // 3 s, and stops 4 s after the last key.
    var lastTyping = 0, stopTimer = null;
    function stopTyping() {
      clearTimeout(stopTimer);
      if (lastTyping) { lastTyping = 0; if (sock) { sock.send({ type: "typing", ticket_id: id, typing: false }); } }
    }
    textarea.addEventListener("input", function () {
      if ($('input[name="internal"]:checked', form).value === "1") { return; }
      var now = Date.now();
      if (now - lastTyping > 3000 && sock) { lastTyping = now; sock.send({ type: "typing", ticket_id: id, typing: true }); }
      clearTimeout(stopTimer);
      stopTimer = setTimeout(stopTyping, 4000);
    });
    var saved = document.getElementById("saved");
    if (saved) {
      saved.addEventListener("change", function () {
        var opt = saved.options[saved.selectedIndex];
        var text = opt && opt.getAttribute("data-body");
        if (text) {
          var s = textarea.selectionStart, en = textarea.selectionEnd, v = textarea.value;
          textarea.value = v.slice(0, s) + text + v.slice(en);
          textarea.selectionStart = textarea.selectionEnd = s + text.length;
        }
        saved.selectedIndex = 0;
        textarea.focus();
      });
    }
    var older = document.getElementById("older");
    if (older) {
      older.addEventListener("click", function () {
        var first = $(".msg", list);
        var before = first ? first.getAttribute("data-seq") : "0";
        fetch(base + "/conversations/" + id + "/messages?before_seq=" + before, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) {
            older.hidden = r.headers.get("X-Has-More") !== "1";
            return r.text();
          }).then(function (html) {
            var h = history.scrollHeight;
            var t = document.createElement("template"); t.innerHTML = html;
            localTimes(t.content);
            list.insertBefore(t.content, list.firstChild);
            history.scrollTop += history.scrollHeight - h;
            markSeen();
            var f = $(".msg", list); if (f) { f.setAttribute("tabindex", "-1"); f.focus(); }
          });
      });
    }

    markSeen();
    toBottom();
    textarea.focus();
    refreshCounts("open", "all");
    sock = live(+root.getAttribute("data-pos") || 0, function (ev) {
      if (ev.ticket_id !== id) {
        if (ev.type === "message.created") { notify(ev, false); refreshCounts("open", "all"); }
        return;
      }
      switch (ev.type) {
        case "message.created":
          if (ev.message && add(ev.message) && ev.message.author.type === "customer") {
            showTyping("", false);
            notify(ev, true);
            if (!document.hidden) { markRead(ev.message.seq); }
          }
          break;
        case "typing":
          if (ev.author && ev.author.type === "customer") { showTyping(ev.author.name, ev.typing); }
          break;
        case "read":
          if (ev.reader === "customer") { customerRead = Math.max(customerRead, ev.seq); markSeen(); }
          break;
        case "ticket.updated":
          if (ev.ticket) { setStatus(ev.ticket.status); }
          break;
      }
    });
    // Read once shown (now, or when the tab comes back): the page's GET
    // marks nothing read.
    function readShown() {
      var last = $$(".msg", list).pop();
      if (!document.hidden && last) { markRead(+last.getAttribute("data-seq")); }
    }
    document.addEventListener("visibilitychange", readShown);
    readShown();
  }

  // --- Widget settings: a live preview and the snippet -----------------
  // ink is the widget's text on a colour: white where it reads at WCAG AA
  // (4.5:1), else black, as js/cstar-widget.js chooses it.
  function ink(hex) {
    if (!/^#[0-9a-fA-F]{6}$/.test(hex)) { return "#fff"; }
    var l = [[1, 0.2126], [3, 0.7152], [5, 0.0722]].reduce(function (s, c) {
      var v = parseInt(hex.substr(c[0], 2), 16) / 255;
      return s + c[1] * (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    }, 0);
    return 1.05 / (l + 0.05) >= 4.5 ? "#fff" : "#000";
  }
  function widget() {
    var f = document.getElementById("widget-form"), pv = document.getElementById("widget-preview");
    var snippet = document.getElementById("snippet");
    function attr(v) { return String(v).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;"); }
    function update() {
      var v = function (n) { var el = f.elements[n]; return el ? (el.value || "").trim() : ""; };
      $(".wp-title", pv).textContent = v("title") || "Chat with us";
      $(".wp-greeting", pv).textContent = v("greeting") || "Hi! How can we help?";
      var reply = { minutes: "Replies in minutes", hours: "Replies within hours", day: "Replies within a day" }[v("reply_time")];
      $(".wp-avail", pv).textContent = [v("availability") === "away" ? "Away" : "Online", reply].filter(Boolean).join(" · ");
      $(".wp-head", pv).style.background = v("color");
      $(".wp-head", pv).style.color = ink(v("color"));
      $(".wp-launcher", pv).style.background = v("color");
      pv.classList.toggle("left", v("position") === "left");
      var s = '<script src="' + snippet.getAttribute("data-origin") + '/widget/cstar-chat.js" data-publishable-key="' + snippet.getAttribute("data-prefix") + '…"';
      [["title", "title"], ["greeting", "greeting"], ["color", "color"], ["position", "position"], ["locale", "locale"]].forEach(function (p) {
        if (v(p[0])) { s += " data-" + p[1] + '="' + attr(v(p[0])) + '"'; }
      });
      snippet.value = s + "></" + "script>";
    }
    f.addEventListener("input", update);
    f.addEventListener("change", update);
    update();
  }

  // --- An article: the Markdown preview, rendered by the server ---------
  function article() {
    var bodyEl = document.getElementById("a-body"), out = document.getElementById("article-preview"), t = null;
    bodyEl.addEventListener("input", function () {
      clearTimeout(t);
      t = setTimeout(function () {
        var params = new URLSearchParams(); params.append("body", bodyEl.value);
        fetch(base + "/settings/library/preview", { method: "POST", credentials: "same-origin", body: params,
          headers: { "X-CSRF-Token": csrf } }).then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null) { out.innerHTML = html; } });
      }, 400);
    });
  }

  var pages = { inbox: inbox, conversation: conversation, widget: widget, article: article };
  if (pages[page]) { pages[page](); }
})();
