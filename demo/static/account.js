/* The store's own login, and the hand-over of its user to cStar: the
 * backend signs an identity token, the widget's SDK presents it. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function json(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (v) {
        if (!r.ok) throw new Error(v.error || ("HTTP " + r.status));
        return v;
      });
    });
  }

  function identify(user) {
    $("chat-identity").textContent = "connecting…";
    return json("POST", "/account/identity-token").then(function (v) {
      return window.CStarChat.identify({ token: v.token });
    }).then(function (customer) {
      $("chat-identity").textContent = customer.name + " (" + customer.email + ")";
    }, function (err) {
      $("chat-identity").textContent = "failed: " + err.message;
    });
  }

  function show(user) {
    $("signed-out").hidden = !!user;
    $("signed-in").hidden = !user;
    if (!user) return;
    $("store-name").textContent = user.name;
    $("store-email").textContent = user.email;
    // Already identified as this store user (a reload): nothing to do.
    var c = window.CStarChat.getCustomer();
    if (c && c.externalId === user.id) {
      $("chat-identity").textContent = c.name + " (" + c.email + ")";
      return;
    }
    identify(user);
  }

  $("store-login").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    $("login-error").textContent = "";
    json("POST", "/account/login", { email: f.email.value, password: f.password.value })
      .then(show, function (err) { $("login-error").textContent = err.message; });
  });

  $("store-logout").addEventListener("click", function () {
    // Signing out of the store signs the visitor out of the chat too.
    var chat = window.CStarChat.isIdentified() ? window.CStarChat.logout() : Promise.resolve();
    chat.catch(function () {}).then(function () { return json("POST", "/account/logout"); })
      .then(function () { show(null); });
  });

  json("GET", "/account/me").then(show, function () { show(null); });
})();
