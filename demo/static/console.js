/* The agent console: talks only to the demo backend (/console/api/…),
 * which holds the secret key; live updates arrive as server-sent events
 * relayed from cStar's realtime stream. Text is always set as text. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var current = null, chats = [], typingTimer = null, typingSent = 0;

  function api(method, path, body) {
    return fetch("/console/api" + path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (v) {
        if (!r.ok) throw new Error(v.error || ("HTTP " + r.status));
        return v;
      });
    });
  }

  function showError(err) { $("console-error").textContent = err ? err.message : ""; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderChats() {
    var ul = $("chats");
    ul.textContent = "";
    if (!chats.length) ul.appendChild(el("li", "empty", "No open chats yet. Send a message from the shop's widget."));
    chats.forEach(function (t) {
      var li = el("li");
      var b = el("button", t.id === (current && current.id) ? "chat current" : "chat");
      b.type = "button";
      b.dataset.ticket = t.id;
      b.appendChild(el("strong", "", t.customer_name || "Visitor"));
      b.appendChild(el("span", "subject", t.subject));
      if (t.last_seq > t.agent_read_seq) b.appendChild(el("span", "badge", String(t.last_seq - t.agent_read_seq)));
      b.addEventListener("click", function () { open(t); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function loadChats() {
    return api("GET", "/chats").then(function (list) {
      chats = list;
      // The open chat may have a new name: a visitor who signed up.
      list.forEach(function (t) {
        if (current && t.id === current.id) {
          current = t;
          $("chat-title").textContent = (t.customer_name || "Visitor") + ": " + t.subject;
        }
      });
      renderChats();
    }, showError);
  }

  function addMessage(m) {
    if (!current || m.ticket_id !== current.id) return;
    var ol = $("messages");
    if (ol.querySelector('[data-id="' + m.id + '"]')) return;
    var li = el("li", "msg " + (m.author.type === "customer" ? "theirs" : "ours"));
    li.dataset.id = m.id;
    li.dataset.seq = m.seq;
    li.appendChild(el("span", "who", m.author.name));
    li.appendChild(el("p", "body", m.body));
    li.appendChild(el("time", "", new Date(m.created_at).toLocaleTimeString()));
    // Keep seq order even if a live message overtakes the history load.
    var after = null;
    Array.prototype.forEach.call(ol.children, function (c) { if (+c.dataset.seq > m.seq && !after) after = c; });
    ol.insertBefore(li, after);
    ol.scrollTop = ol.scrollHeight;
  }

  // The agents have read up to seq: the list's unread count follows.
  function markRead(seq) {
    if (current && seq) api("POST", "/chats/" + current.id + "/read", { seq: seq }).then(loadChats, function () {});
  }

  function open(t) {
    current = t;
    $("chat-title").textContent = (t.customer_name || "Visitor") + ": " + t.subject;
    $("messages").textContent = "";
    $("typing").textContent = "";
    $("reply-body").disabled = false;
    $("reply").querySelector("button").disabled = false;
    $("close-chat").disabled = false;
    renderChats();
    var rb = $("read-before");
    rb.hidden = true;
    api("GET", "/chats/" + t.id + "/article-views").then(function (vs) {
      if (!vs.length || current !== t) return;
      rb.textContent = "Read before writing: " + vs.map(function (v) { return v.title; }).join(", ");
      rb.hidden = false;
    }, function () {});
    api("GET", "/chats/" + t.id + "/messages").then(function (ms) {
      ms.forEach(addMessage);
      if (ms.length) markRead(ms[ms.length - 1].seq);
    }, showError);
    $("reply-body").focus();
  }

  function send() {
    var box = $("reply-body"), text = box.value.trim();
    if (!current || !text) return;
    box.disabled = true;
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now());
    api("POST", "/chats/" + current.id + "/messages", { body: text, client_id: id }).then(function (m) {
      box.value = "";
      showError(null);
      addMessage(m);
      markRead(m.seq); // an agent's own reply is not unread
      typingSent = 0;
    }, showError).then(function () { box.disabled = false; box.focus(); });
  }

  $("reply").addEventListener("submit", function (e) { e.preventDefault(); send(); });
  $("reply-body").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
  });
  $("reply-body").addEventListener("input", function () {
    if (!current) return;
    var now = Date.now();
    if (now - typingSent > 3000) {
      typingSent = now;
      api("POST", "/chats/" + current.id + "/typing", { typing: true }).catch(function () {});
    }
  });
  $("close-chat").addEventListener("click", function () {
    if (!current) return;
    api("POST", "/chats/" + current.id + "/close", {}).then(function () {
      current = null;
      $("chat-title").textContent = "Choose a chat";
      $("messages").textContent = "";
      $("reply-body").disabled = true;
      $("close-chat").disabled = true;
      loadChats();
    }, showError);
  });

  var es = new EventSource("/console/events");
  es.onopen = function () { $("live").textContent = "live"; $("live").className = "live on"; loadChats(); };
  es.onerror = function () { $("live").textContent = "reconnecting…"; $("live").className = "live"; };
  es.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (x) { return; }
    if (ev.type === "message.created") {
      if (current && ev.ticket_id === current.id) {
        addMessage(ev.message);
        $("typing").textContent = "";
        if (ev.message.author.type === "customer") markRead(ev.message.seq);
      }
      loadChats();
    } else if (ev.type === "ticket.created" || ev.type === "ticket.updated" || ev.type === "customer.merged") {
      // A merge: a visitor's chat is now its customer's, under their name.
      loadChats();
    } else if (ev.type === "typing" && current && ev.ticket_id === current.id) {
      $("typing").textContent = ev.typing ? (ev.author.name + " is typing…") : "";
      clearTimeout(typingTimer);
      if (ev.typing) typingTimer = setTimeout(function () { $("typing").textContent = ""; }, 6000);
    }
  };
  loadChats();
})();
