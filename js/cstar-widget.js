/* cStar widget UI: a launcher and a chat panel in a Shadow DOM, built only
 * on the public window.CStarChat API, so a site can switch it off
 * (data-ui="none") and draw its own. It runs before the SDK module has
 * loaded: opening the panel, writing or hovering the launcher loads it. No
 * inline script or style, no innerHTML: styles come from a constructable
 * stylesheet, and every text from a message or the server is set as text. */
(function () {
  "use strict";
  var chat = window.CStarChat;
  if (!chat || document.getElementById("cstar-widget-host")) return;

  // Data attributes of the tag and CStarChat.init({...}), as the loader
  // merged them.
  var opts = chat.options ? chat.options() : {};
  function attr(name, def) { return opts[name] ? opts[name] : def; }

  // Built-in languages; add one by adding a table. Error texts are keyed by
  // the server's stable codes (and the field an "invalid" names), never the
  // server's developer text.
  var L10N = {
    en: { open: "Open chat", close: "Close chat", title: "Chat with us", greeting: "Hi! How can we help?",
      login: "Log in", signup: "Create account", email: "Email", name: "Name", password: "Password",
      toSignup: "New here? Create an account", toLogin: "Have an account? Log in", logout: "Log out",
      send: "Send", placeholder: "Write a message…", typing: "{name} is typing…", pending: "Waiting to send",
      failed: "Not sent.", retry: "Retry", read: "Read", messages: "Messages", you: "You", unread: "{n} unread",
      back: "Back", online: "Online", away: "Away", replyMinutes: "Replies in minutes",
      replyHours: "Replies within hours", replyDay: "Replies within a day",
      reconnecting: "Reconnecting…", unavailable: "Temporarily unavailable, retrying…",
      loadFailed: "The chat could not load. Reload the page to try again.",
      search: "Search help articles", searching: "Searching…", noResults: "No articles match. Ask us instead:",
      articles: "Help articles", suggested: "Popular articles", start: "Start a conversation",
      stillNeed: "Still need help?", chatWithUs: "Chat with us", help: "Help",
      askEmailBefore: "Leave your email so we can reply if you leave the page.", continue_: "Continue",
      askEmailAfter: "Get notified by email when we reply?", save: "Save", notNow: "Not now",
      emailSaved: "We'll email you at {email}.", intro: "We're here to help.",
      loginIntro: "Log in to see your conversations.", signupIntro: "Create an account to keep your conversations.",
      errNetwork: "We can't reach the chat right now. Check your connection and try again.",
      errRate: "Too many attempts. Wait a moment, then try again.",
      errUnavailable: "The chat is briefly unavailable. Please try again in a moment.",
      errCredentials: "That email and password don't match.",
      errTaken: "An account with this email already exists. Log in instead.",
      errEmail: "Please enter a valid email address.",
      errPassword: "Choose a stronger password: at least 10 characters, not a common word, pattern or your name.",
      errName: "Please enter your name.", errBody: "A message can be up to 4,000 characters.",
      errForbidden: "The chat isn't available on this page.", errGeneric: "Something went wrong. Please try again.",
      forgot: "Forgot your password?", forgotIntro: "Enter your email and we'll send you a link to choose a new password.",
      sendLink: "Send the link", linkSent: "If an account uses {email}, a link to choose a new password is on its way. It works for 30 minutes.",
      resetTitle: "Choose a new password", resetIntro: "You'll be logged out everywhere else.", newPassword: "New password",
      savePassword: "Save and log in", errLink: "This link has expired or was already used. Ask for a new one.",
      verified: "Thank you: your email address is confirmed.", verifyFailed: "This confirmation link has expired or was already used." },
    de: { open: "Chat öffnen", close: "Chat schließen", title: "Schreiben Sie uns", greeting: "Hallo! Wie können wir helfen?",
      login: "Anmelden", signup: "Konto erstellen", email: "E-Mail", name: "Name", password: "Passwort",
      toSignup: "Neu hier? Konto erstellen", toLogin: "Schon ein Konto? Anmelden", logout: "Abmelden",
      send: "Senden", placeholder: "Nachricht schreiben…", typing: "{name} schreibt…", pending: "Wird gesendet, sobald verbunden",
      failed: "Nicht gesendet.", retry: "Erneut senden", read: "Gelesen", messages: "Nachrichten", you: "Sie", unread: "{n} ungelesen",
      back: "Zurück", online: "Online", away: "Abwesend", replyMinutes: "Antwort in Minuten",
      replyHours: "Antwort in Stunden", replyDay: "Antwort binnen eines Tages",
      reconnecting: "Verbindung wird wiederhergestellt…", unavailable: "Vorübergehend nicht erreichbar, neuer Versuch läuft…",
      loadFailed: "Der Chat konnte nicht geladen werden. Laden Sie die Seite neu.",
      search: "Hilfeartikel durchsuchen", searching: "Suche…", noResults: "Keine passenden Artikel. Fragen Sie uns:",
      articles: "Hilfeartikel", suggested: "Beliebte Artikel", start: "Unterhaltung beginnen",
      stillNeed: "Brauchen Sie weitere Hilfe?", chatWithUs: "Schreiben Sie uns", help: "Hilfe",
      askEmailBefore: "Hinterlassen Sie Ihre E-Mail, damit wir antworten können, wenn Sie die Seite verlassen.", continue_: "Weiter",
      askEmailAfter: "Per E-Mail benachrichtigen, wenn wir antworten?", save: "Speichern", notNow: "Nicht jetzt",
      emailSaved: "Wir schreiben Ihnen an {email}.", intro: "Wir helfen gern.",
      loginIntro: "Melden Sie sich an, um Ihre Unterhaltungen zu sehen.", signupIntro: "Erstellen Sie ein Konto, um Ihre Unterhaltungen zu behalten.",
      errNetwork: "Der Chat ist gerade nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
      errRate: "Zu viele Versuche. Bitte warten Sie einen Moment.",
      errUnavailable: "Der Chat ist kurz nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
      errCredentials: "E-Mail und Passwort passen nicht zusammen.",
      errTaken: "Zu dieser E-Mail gibt es schon ein Konto. Bitte melden Sie sich an.",
      errEmail: "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
      errPassword: "Wählen Sie ein sichereres Passwort: mindestens 10 Zeichen, kein häufiges Wort, Muster oder Ihr Name.",
      errName: "Bitte geben Sie Ihren Namen ein.", errBody: "Eine Nachricht darf höchstens 4.000 Zeichen lang sein.",
      errForbidden: "Der Chat ist auf dieser Seite nicht verfügbar.", errGeneric: "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
      forgot: "Passwort vergessen?", forgotIntro: "Geben Sie Ihre E-Mail ein, und wir senden Ihnen einen Link, um ein neues Passwort zu wählen.",
      sendLink: "Link senden", linkSent: "Wenn ein Konto {email} verwendet, ist ein Link für ein neues Passwort unterwegs. Er gilt 30 Minuten.",
      resetTitle: "Neues Passwort wählen", resetIntro: "Überall sonst werden Sie abgemeldet.", newPassword: "Neues Passwort",
      savePassword: "Speichern und anmelden", errLink: "Dieser Link ist abgelaufen oder wurde schon benutzt. Fordern Sie einen neuen an.",
      verified: "Danke: Ihre E-Mail-Adresse ist bestätigt.", verifyFailed: "Dieser Bestätigungslink ist abgelaufen oder wurde schon benutzt." },
    es: { open: "Abrir chat", close: "Cerrar chat", title: "Escríbenos", greeting: "¡Hola! ¿En qué podemos ayudarte?",
      login: "Iniciar sesión", signup: "Crear cuenta", email: "Correo", name: "Nombre", password: "Contraseña",
      toSignup: "¿Nuevo? Crea una cuenta", toLogin: "¿Ya tienes cuenta? Inicia sesión", logout: "Cerrar sesión",
      send: "Enviar", placeholder: "Escribe un mensaje…", typing: "{name} está escribiendo…", pending: "Pendiente de envío",
      failed: "No enviado.", retry: "Reintentar", read: "Leído", messages: "Mensajes", you: "Tú", unread: "{n} sin leer",
      back: "Atrás", online: "En línea", away: "Ausente", replyMinutes: "Responde en minutos",
      replyHours: "Responde en horas", replyDay: "Responde en un día",
      reconnecting: "Reconectando…", unavailable: "No disponible temporalmente, reintentando…",
      loadFailed: "No se pudo cargar el chat. Recarga la página para intentarlo de nuevo.",
      search: "Buscar artículos de ayuda", searching: "Buscando…", noResults: "Ningún artículo coincide. Pregúntanos:",
      articles: "Artículos de ayuda", suggested: "Artículos populares", start: "Iniciar una conversación",
      stillNeed: "¿Todavía necesitas ayuda?", chatWithUs: "Escríbenos", help: "Ayuda",
      askEmailBefore: "Déjanos tu correo para responderte si sales de la página.", continue_: "Continuar",
      askEmailAfter: "¿Quieres que te avisemos por correo cuando respondamos?", save: "Guardar", notNow: "Ahora no",
      emailSaved: "Te escribiremos a {email}.", intro: "Estamos aquí para ayudarte.",
      loginIntro: "Inicia sesión para ver tus conversaciones.", signupIntro: "Crea una cuenta para conservar tus conversaciones.",
      errNetwork: "No podemos conectar con el chat. Revisa tu conexión e inténtalo de nuevo.",
      errRate: "Demasiados intentos. Espera un momento e inténtalo de nuevo.",
      errUnavailable: "El chat no está disponible por un momento. Inténtalo de nuevo en breve.",
      errCredentials: "El correo y la contraseña no coinciden.",
      errTaken: "Ya existe una cuenta con este correo. Inicia sesión.",
      errEmail: "Introduce un correo electrónico válido.",
      errPassword: "Elige una contraseña más segura: al menos 10 caracteres, sin palabras comunes, patrones ni tu nombre.",
      errName: "Introduce tu nombre.", errBody: "Un mensaje puede tener hasta 4.000 caracteres.",
      errForbidden: "El chat no está disponible en esta página.", errGeneric: "Algo salió mal. Inténtalo de nuevo.",
      forgot: "¿Olvidaste tu contraseña?", forgotIntro: "Escribe tu correo y te enviaremos un enlace para elegir una contraseña nueva.",
      sendLink: "Enviar el enlace", linkSent: "Si una cuenta usa {email}, te hemos enviado un enlace para elegir una contraseña nueva. Sirve durante 30 minutos.",
      resetTitle: "Elige una contraseña nueva", resetIntro: "Se cerrará tu sesión en todos los demás sitios.", newPassword: "Contraseña nueva",
      savePassword: "Guardar e iniciar sesión", errLink: "Este enlace ha caducado o ya se usó. Pide uno nuevo.",
      verified: "Gracias: tu dirección de correo está confirmada.", verifyFailed: "Este enlace de confirmación ha caducado o ya se usó." }
  };
  var lang = (attr("locale", (navigator.language || "en")).toLowerCase().split("-")[0]);
  var T = L10N[lang] || L10N.en;
  var color = /^#[0-9a-fA-F]{6}$/.test(attr("color", "")) ? attr("color") : "#1f5fd6";
  // Text on the site's colour: white where it reads at WCAG AA (4.5:1),
  // black elsewhere (one of the two always does).
  function luminance(hex) {
    return [[1, 0.2126], [3, 0.7152], [5, 0.0722]].reduce(function (l, c) {
      var v = parseInt(hex.substr(c[0], 2), 16) / 255;
      return l + c[1] * (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    }, 0);
  }
  var ink = 1.05 / (luminance(color) + 0.05) >= 4.5 ? "#fff" : "#000";
  var left = attr("position", "right") === "left";
  var askEmail = /^(before|after|never)$/.test(attr("askEmail", "")) ? attr("askEmail") : "after";
  var side = left ? "left" : "right";

  // human turns an SDK or server error into a sentence for people, by its
  // stable code and field.
  function human(x, context) {
    var code = x && x.code, field = x && x.field;
    if (code === "invalid") {
      return field === "email" ? T.errEmail : field === "password" ? T.errPassword : field === "name" ? T.errName :
        field === "token" ? T.errLink : T.errBody;
    }
    return ({ network: T.errNetwork, load_failed: T.errNetwork, rate_limited: T.errRate, unavailable: T.errUnavailable,
      too_large: T.errBody, forbidden: T.errForbidden, conflict: T.errTaken,
      unauthorized: context === "login" ? T.errCredentials : T.errGeneric })[code] || T.errGeneric;
  }

  var CSS = ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    "[hidden]{display:none!important}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:var(--c);color:var(--ct);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".launcher svg{width:28px;height:28px;fill:var(--ct)}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#b3261e;color:#fff;font-size:12px;line-height:20px;padding:0 6px;font-weight:600}" +
    ".panel{position:fixed;bottom:88px;" + side + ":20px;width:370px;max-width:calc(100vw - 40px);height:580px;max-height:calc(100vh - 110px);" +
    "background:#fff;color:#1d2433;border-radius:14px;box-shadow:0 10px 34px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;z-index:2147483647;font-size:15px;line-height:1.45;" +
    "animation:cstar-in .16s ease-out}" +
    "@keyframes cstar-in{from{opacity:0;transform:translateY(12px)}}" +
    "header{background:var(--c);color:var(--ct);padding:14px 14px 12px;display:flex;gap:8px;align-items:center;flex:none}" +
    "header .t{flex:1;min-width:0}header h2{margin:0;font-size:17px;line-height:1.25;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    "header p{margin:2px 0 0;font-size:13px;display:flex;align-items:center;gap:6px;white-space:nowrap}" +
    "header p span:last-child{overflow:hidden;text-overflow:ellipsis}" +
    ".dot{width:8px;height:8px;border-radius:50%;background:#3ecf6e;flex:none;box-shadow:0 0 0 2px rgba(255,255,255,.6)}.dot.away{background:#f2b84b}" +
    ".hb{background:transparent;border:0;color:inherit;border-radius:8px;width:34px;height:34px;cursor:pointer;font-size:18px;line-height:1;flex:none;display:flex;align-items:center;justify-content:center}" +
    ".hb:hover{background:rgba(255,255,255,.16)}.hb svg{width:20px;height:20px;fill:currentColor}" +
    ".hl{background:transparent;border:1px solid;color:inherit;border-radius:6px;padding:3px 8px;cursor:pointer;font-size:12px;flex:none}" +
    ".notice{flex:none;background:#fff7e0;color:#5c4500;font-size:12px;padding:5px 14px;border-bottom:1px solid #f1e2b3}" +
    ".body{flex:1;min-height:0;overflow:auto;padding:14px;background:#f6f7fb;display:flex;flex-direction:column}" +
    ".view{display:flex;flex-direction:column;gap:10px;flex:1 0 auto}.view.center{justify-content:center}" +
    "[tabindex='-1']:focus{outline:none;box-shadow:none}" +
    "h3{margin:2px 0;font-size:16px}" +
    ".lead{margin:0;color:#4a5468;font-size:14px}" +
    "form.stack{display:flex;flex-direction:column;gap:10px}" +
    ".actions{display:flex;flex-direction:column;gap:10px;padding-top:4px}" +
    "label{display:flex;flex-direction:column;font-size:13px;gap:4px;color:#1d2433;font-weight:500}" +
    "input,textarea{font:inherit;font-weight:400;padding:9px 10px;border:1px solid #6b7488;border-radius:8px;color:#1d2433;background:#fff;width:100%}" +
    "button.primary{background:var(--c);color:var(--ct);border:0;border-radius:8px;padding:10px 14px;font:inherit;font-weight:600;cursor:pointer}" +
    "button.secondary{background:#fff;color:#1d2433;border:1px solid #c9cfdb;border-radius:8px;padding:9px 14px;font:inherit;cursor:pointer}" +
    "button.link{background:none;border:0;color:#1f4fb0;text-decoration:underline;cursor:pointer;font:inherit;padding:0;align-self:center}" +
    "button:disabled{opacity:.6;cursor:default}" +
    // Two rings, dark inside light: one of them stands out on any colour.
    ":focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 2px #1d2433}" +
    ".err{color:#b3261e;font-size:13px;margin:0}.err:empty,.note:empty{display:none}" +
    ".note{color:#4a5468;font-size:13px;margin:0}" +
    ".card{background:#fff;border:1px solid #dde2ec;border-radius:10px;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".search{position:relative}.search input{padding-left:34px}" +
    ".search svg{position:absolute;left:10px;top:50%;margin-top:-8px;width:16px;height:16px;fill:#6b7488}" +
    "ul.arts{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;background:#fff;border:1px solid #dde2ec;border-radius:10px;overflow:hidden}" +
    "ul.arts li{border-top:1px solid #eef0f5}ul.arts li:first-child{border-top:0}" +
    "ul.arts button{display:block;width:100%;text-align:left;background:#fff;border:0;padding:10px 12px;font:inherit;color:#1d2433;cursor:pointer}" +
    "ul.arts button:hover{background:#f3f5fa}ul.arts strong{display:block;font-size:14px}ul.arts span{display:block;font-size:12px;color:#4a5468;margin-top:2px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".sub{margin:4px 0 0;font-size:12px;font-weight:600;color:#4a5468;text-transform:uppercase;letter-spacing:.04em}" +
    "article{background:#fff;border:1px solid #dde2ec;border-radius:10px;padding:14px}article h3{margin:0 0 8px}" +
    "article p{margin:0 0 10px;white-space:pre-wrap;overflow-wrap:anywhere}article a{color:#1f4fb0}" +
    ".bottom{margin-top:auto;padding-top:8px;display:flex;flex-direction:column;gap:6px;align-items:stretch}" +
    ".bottom p{margin:0;text-align:center;font-size:13px;color:#4a5468}" +
    "ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:2px;margin-top:auto}" +
    "ol>li{display:flex;gap:8px;align-items:flex-end;max-width:86%;align-self:flex-start}" +
    "ol>li.first{margin-top:10px}ol>li:first-child{margin-top:0}" +
    "ol>li.mine{align-self:flex-end;flex-direction:row-reverse}" +
    ".av{width:28px;height:28px;border-radius:50%;background:#dfe5f2;color:#28324a;font-size:11px;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none;overflow:hidden;visibility:hidden}" +
    ".av img{width:100%;height:100%;object-fit:cover}li.last .av{visibility:visible}li.mine .av{display:none}" +
    ".bub{padding:8px 11px;border-radius:14px;background:#fff;border:1px solid #dde2ec;min-width:0}" +
    "li.mine .bub{background:var(--c);color:var(--ct);border-color:var(--c)}li.mine a{color:var(--ct)}.bub a{color:#1f4fb0}" +
    "li.theirs:not(.last) .bub{border-bottom-left-radius:5px}li.theirs:not(.first) .bub{border-top-left-radius:5px}" +
    "li.mine:not(.last) .bub{border-bottom-right-radius:5px}li.mine:not(.first) .bub{border-top-right-radius:5px}" +
    ".who{display:block;font-size:12px;font-weight:600;margin-bottom:1px}li:not(.first) .who,li.mine .who{display:none}" +
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}" +
    ".meta{display:block;font-size:11px;margin-top:2px}li:not(.last) .meta:not(.keep){display:none}" +
    "li.pending .bub{background:#fff;color:#1d2433;border-style:dashed}li.pending a{color:#1f4fb0}li.failed .bub{background:#fdecea;color:#1d2433;border-color:#b3261e}" +
    "ol>li.card{max-width:100%;align-self:stretch;display:flex;flex-direction:column;align-items:stretch;margin-top:10px}" +
    ".row{display:flex;gap:8px}.row input{flex:1;min-width:0}" +
    ".typing{font-size:13px;color:#4a5468;min-height:1.3em;margin:6px 0 0}" +
    ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #dde2ec;background:#fff;flex:none;align-items:flex-end}" +
    ".composer textarea{flex:1;resize:none;height:42px;max-height:120px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    // A phone, or a window zoomed to 200 %: the panel takes the screen.
    "@media (max-width:480px),(max-height:520px){.panel{inset:0;width:100vw;max-width:none;height:100%;max-height:none;border-radius:0}.launcher.on{display:none}}" +
    "@media (prefers-reduced-motion:reduce){.panel{animation:none}}";

  // plain is Markdown as an excerpt reads: link texts without their
  // addresses, no emphasis or heading marks, one line.
  function plain(md) {
    return md.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[*`]+|^\s*(#+|>|[-+]|\d+\.)\s+/gm, "").replace(/\s+/g, " ");
  }

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
  function svg(d) {
    var s = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    var p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    p.setAttribute("d", d);
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var ICON_CLOSE = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";
  var ICON_BACK = "M15.4 4.6 8 12l7.4 7.4-1.4 1.4L5.2 12l8.8-8.8z";
  var ICON_SEARCH = "M10 2a8 8 0 0 1 6.3 12.9l5.4 5.4-1.4 1.4-5.4-5.4A8 8 0 1 1 10 2zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12z";
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
  host.style.setProperty("--ct", ink);

  var icon = svg(ICON_CHAT);
  var badge = el("span", { cls: "badge", hidden: "" });
  var launcher = el("button", { cls: "launcher", type: "button", "aria-label": T.open, "aria-expanded": "false",
    "aria-controls": "cstar-panel", part: "launcher" }, [icon, badge]);
  // "hidden" or "none": the site opens the panel with CStarChat.open().
  if (/^(hidden|none)$/.test(attr("launcher", ""))) launcher.hidden = true;

  var titleText = attr("title", T.title);
  var status = el("p", { role: "status" }, [el("span", { text: attr("greeting", T.greeting) })]);
  var backBtn = el("button", { cls: "hb", type: "button", "aria-label": T.back, hidden: "" }, [svg(ICON_BACK)]);
  var helpBtn = el("button", { cls: "hl", type: "button", text: T.help, hidden: "" });
  var logoutBtn = el("button", { cls: "hl", type: "button", text: T.logout, hidden: "" });
  var closeBtn = el("button", { cls: "hb", type: "button", "aria-label": T.close }, [svg(ICON_CLOSE)]);
  var notice = el("div", { cls: "notice", role: "status", hidden: "" });
  var body = el("div", { cls: "body" });
  // Written only when it changes: a screen reader hears it once as the
  // agent starts typing, not at each of the agent's typing events.
  var typingLine = el("p", { cls: "typing", "aria-live": "polite" });
  var input = el("textarea", { "aria-label": T.placeholder, placeholder: T.placeholder, rows: "1", maxlength: "4000" });
  var sendBtn = el("button", { cls: "primary", type: "submit", text: T.send });
  var composer = el("form", { cls: "composer", hidden: "" }, [input, sendBtn]);
  var panel = el("div", { id: "cstar-panel", cls: "panel", role: "dialog", "aria-modal": "true", "aria-label": titleText, hidden: "" }, [
    el("header", {}, [backBtn, el("div", { cls: "t" }, [el("h2", { text: titleText }), status]), helpBtn, logoutBtn, closeBtn]),
    notice, body, composer]);
  // What a screen reader hears of the chat: each new message from the
  // team, once, and a send that failed; not the history shown on opening.
  // Outside the panel, so that it speaks while the panel is closed too.
  var announcer = el("div", { cls: "sr", "aria-live": "polite" });
  root.appendChild(launcher);
  root.appendChild(panel);
  root.appendChild(announcer);
  function announce(text) {
    announcer.appendChild(el("p", { text: text }));
    while (announcer.children.length > 3) announcer.removeChild(announcer.firstChild);
  }

  // A plain list (a live region would speak the history and every change
  // of a message, and role="log" on a list hides its items from it).
  var log = el("ol", { "aria-label": T.messages });
  var items = {}; // message id or client key → li
  // Messages of the team heard while the history loads: after a reload
  // or a sign-in the SDK replays the history as message events too, so
  // they are announced only if the history does not hold them.
  var heard = null;
  var view = "";  // home, article, chat, login, signup, forgot, reset, verified
  var loadedHistory = false;
  var settings = null, avatarURL = "";
  // The articles opened before writing go with the next message, for the
  // agents; kept for the tab's session across pages.
  var viewedKey = "cstar.viewed.v1";
  function viewed() { try { return JSON.parse(sessionStorage.getItem(viewedKey)) || []; } catch (e) { return []; } }
  function setViewed(list) { try { sessionStorage.setItem(viewedKey, JSON.stringify(list.slice(-10))); } catch (e) { /* blocked */ } }

  // A conversation exists: a signed-in customer or a visitor who wrote.
  function hasConversation() { return chat.isIdentified() || !!chat.getVisitor(); }

  function clear() {
    body.textContent = "";
    composer.hidden = true;
    typingLine.textContent = "";
  }
  function setHeader(back) {
    backBtn.hidden = !back;
    logoutBtn.hidden = !(chat.isIdentified() && view === "chat");
    helpBtn.hidden = !(view === "chat");
  }

  // The home view: search over the team's help articles, or start writing.
  function home() {
    view = "home";
    clear();
    setHeader(hasConversation());
    var results = el("div", { cls: "view" });
    var q = el("input", { type: "search", "aria-label": T.search, placeholder: T.search, autocomplete: "off" });
    var searchBox = el("div", { cls: "search" }, [svg(ICON_SEARCH), q]);
    var list = el("div", { "aria-live": "polite" });
    var timer = 0, seq = 0;
    function run() {
      var mine = ++seq, query = q.value.trim();
      list.textContent = "";
      if (query) list.appendChild(el("p", { cls: "note", text: T.searching }));
      chat.searchArticles(query).then(function (arts) {
        if (mine !== seq) return;
        list.textContent = "";
        if (!arts.length) {
          if (query) list.appendChild(el("p", { cls: "note", text: T.noResults }));
          return;
        }
        list.appendChild(el("p", { cls: "sub", text: query ? T.articles : T.suggested }));
        list.appendChild(el("ul", { cls: "arts" }, arts.map(function (a) {
          return el("li", {}, [el("button", { type: "button", onclick: function () { article(a); } },
            [el("strong", { text: a.title }), el("span", { text: plain(a.snippet || a.body || "").slice(0, 140) })])]);
        })));
      }, function (x) {
        if (mine !== seq) return;
        list.textContent = "";
        if (query) list.appendChild(el("p", { cls: "err", role: "alert", text: human(x) }));
      });
    }
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 250); });
    results.appendChild(el("h3", { text: attr("greeting", T.greeting) }));
    results.appendChild(searchBox);
    results.appendChild(list);
    results.appendChild(el("div", { cls: "bottom" }, [
      el("button", { cls: "primary", type: "button", text: hasConversation() ? T.back : T.start, onclick: function () { conversation(); focusFirst(); } }),
      chat.isIdentified() ? null : el("button", { cls: "link", type: "button", text: T.toLogin, onclick: function () { auth("login"); focusFirst(); } })]));
    body.appendChild(results);
    run();
  }

  // One article, in the panel; "still need help?" starts the chat.
  function article(a) {
    view = "article";
    clear();
    setHeader(true);
    var list = viewed();
    if (list.indexOf(a.id) < 0) { list.push(a.id); setViewed(list); }
    var art = el("article", {}, [el("h3", { text: a.title })]);
    String(a.body || "").split(/\n{2,}/).forEach(function (para) {
      var p = el("p");
      linkify(p, para.trim());
      art.appendChild(p);
    });
    body.appendChild(el("div", { cls: "view" }, [art, el("div", { cls: "bottom" }, [
      el("p", { text: T.stillNeed }),
      el("button", { cls: "primary", type: "button", text: T.chatWithUs, onclick: function () { conversation(); focusFirst(); } })])]));
    body.scrollTop = 0;
    var h = art.querySelector("h3");
    h.setAttribute("tabindex", "-1");
    h.focus();
  }

  // The login and signup forms; the widget sends the visitor's token with
  // them (the SDK does), so a visitor's conversation comes along.
  function auth(kind) {
    view = kind;
    clear();
    setHeader(true);
    var signup = kind === "signup";
    var err = el("p", { cls: "err", role: "alert" });
    var note = el("p", { cls: "note", role: "status" });
    var fields = [el("label", { text: T.email }, [el("input", { name: "email", type: "email", autocomplete: "email", required: "" })])];
    if (signup) fields.unshift(el("label", { text: T.name }, [el("input", { name: "name", autocomplete: "name", required: "" })]));
    fields.push(el("label", { text: T.password }, [el("input", { name: "password", type: "password", required: "",
      autocomplete: signup ? "new-password" : "current-password" })]));
    var submit = el("button", { cls: "primary", type: "submit", text: signup ? T.signup : T.login });
    var tries = 0, retryTimer = 0;
    function attempt() {
      var f = form.elements, p = { email: f.email.value, password: f.password.value };
      if (signup) p.name = f.name.value;
      (signup ? chat.signup(p) : chat.login(p)).then(function () { note.textContent = ""; }, function (x) {
        if (view !== kind) return;
        if (x && x.code === "unavailable") {
          // Not the visitor's mistake: say so quietly and try again.
          note.textContent = T.unavailable;
          retryTimer = setTimeout(attempt, Math.min(30000, 1000 << Math.min(tries++, 5)) * (0.5 + Math.random() / 2));
          return;
        }
        clearTimeout(retryTimer);
        note.textContent = "";
        err.textContent = human(x, kind);
        submit.disabled = false;
      });
    }
    var form = el("form", { cls: "stack card auth", novalidate: "", "aria-label": signup ? T.signup : T.login, onsubmit: function (e) {
      e.preventDefault();
      err.textContent = "";
      submit.disabled = true;
      tries = 0;
      attempt();
    } }, [el("h3", { text: signup ? T.signup : T.login }), el("p", { cls: "lead", text: signup ? T.signupIntro : T.loginIntro })]
      .concat(fields).concat([el("div", { cls: "actions" }, [note, err, submit,
        el("button", { cls: "link", type: "button", text: signup ? T.toLogin : T.toSignup,
          onclick: function () { auth(signup ? "login" : "signup"); focusFirst(); } }),
        signup ? null : el("button", { cls: "link", type: "button", text: T.forgot, onclick: function () { forgot(); focusFirst(); } })])]));
    body.appendChild(el("div", { cls: "view center" }, [form]));
  }

  // A small form of the panel: a title, a line, the fields, a submit button
  // that run(form) answers with a promise; its errors show inline.
  function card(name, title, lead, fields, label, run, extra) {
    view = name;
    clear();
    setHeader(true);
    var err = el("p", { cls: "err", role: "alert" }), note = el("p", { cls: "note", role: "status" });
    var submit = el("button", { cls: "primary", type: "submit", text: label });
    var form = el("form", { cls: "stack card auth", novalidate: "", "aria-label": title, onsubmit: function (e) {
      e.preventDefault();
      err.textContent = note.textContent = "";
      submit.disabled = true;
      run(form, note).then(function () { submit.disabled = false; }, function (x) {
        err.textContent = human(x);
        submit.disabled = false;
      });
    } }, [el("h3", { text: title }), el("p", { cls: "lead", text: lead })].concat(fields)
      .concat([el("div", { cls: "actions" }, [note, err, submit].concat(extra || []))]));
    body.appendChild(el("div", { cls: "view center" }, [form]));
  }

  // Forgot the password: a link is mailed (the answer is the same whether an
  // account has the email or not).
  function forgot() {
    card("forgot", T.forgot, T.forgotIntro,
      [el("label", { text: T.email }, [el("input", { name: "email", type: "email", autocomplete: "email", required: "" })])],
      T.sendLink, function (f, note) {
        var email = f.elements.email.value;
        return chat.requestPasswordReset(email).then(function () { note.textContent = fmt(T.linkSent, { email: email }); });
      }, [el("button", { cls: "link", type: "button", text: T.toLogin, onclick: function () { auth("login"); focusFirst(); } })]);
  }

  // A reset link's page: the token came in the address's fragment; the new
  // password signs in (every other session of the customer ends).
  function reset(token) {
    card("reset", T.resetTitle, T.resetIntro,
      [el("label", { text: T.newPassword }, [el("input", { name: "password", type: "password", autocomplete: "new-password", required: "" })])],
      T.savePassword, function (f) {
        // The identified event may have shown the conversation already.
        return chat.resetPassword(token, f.elements.password.value).then(function () {
          if (view === "reset") { conversation(); focusFirst(); }
        });
      }, [el("button", { cls: "link", type: "button", text: T.forgot, onclick: function () { forgot(); focusFirst(); } })]);
  }

  // A verification link's page: the answer, and the way on.
  function verified(ok, text) {
    view = "verified";
    clear();
    setHeader(true);
    body.appendChild(el("div", { cls: "view center" }, [el("div", { cls: "stack card auth" }, [
      el("p", { cls: ok ? "lead" : "err", role: ok ? "status" : "alert", text: text || (ok ? T.verified : T.verifyFailed) }),
      el("button", { cls: "primary", type: "button", text: hasConversation() ? T.back : T.start,
        onclick: function () { conversation(); focusFirst(); } })])]));
  }

  // The conversation: history once a conversation exists, then the live
  // messages; an anonymous visitor may be asked for an email first.
  function conversation() {
    view = "chat";
    clear();
    setHeader(false);
    log.textContent = "";
    items = {};
    lastGroup = null;
    body.appendChild(log);
    body.appendChild(typingLine);
    if (!hasConversation() && askEmail === "before") {
      body.textContent = "";
      body.appendChild(el("div", { cls: "view center" }, [el("h3", { text: attr("greeting", T.greeting) }), emailCard(true)]));
      return;
    }
    composer.hidden = false;
    // Sent before a reload and not stored yet: pending until the server
    // acknowledges them (the message event replaces them).
    (chat.pendingMessages ? chat.pendingMessages() : []).forEach(function (p) { pending(p.body, "c-" + p.clientId); });
    loadedHistory = false;
    if (hasConversation()) history();
    else log.appendChild(el("li", { cls: "card first" }, [el("h3", { text: attr("greeting", T.greeting) }), el("p", { cls: "lead", text: T.intro })]));
  }
  function history() {
    loadedHistory = true;
    heard = [];
    (function load(tries) {
      chat.getMessages().then(function (ms) {
        var old = {};
        if (view === "chat") ms.forEach(function (m) { old[m.id] = true; show(m); });
        (heard || []).forEach(function (m) { if (!old[m.id]) announce(m.author.name + ": " + m.body); });
        heard = null;
        toBottom();
        markRead();
      }, function (x) {
        // Right after a sign-in the SDK may not read yet: try again.
        if (x && x.code === "unauthorized" && tries < 4 && hasConversation()) return setTimeout(function () { load(tries + 1); }, 250 << tries);
        heard = null;
        if (x && x.code !== "unauthorized") setNotice(human(x));
      });
    })(0);
  }

  // emailCard asks an anonymous visitor for an email: before the first
  // message (required), or after it (optional). The email is stored as
  // the visitor typed it, unverified.
  function emailCard(before) {
    var err = el("p", { cls: "err", role: "alert" });
    var email = el("input", { type: "email", name: "email", autocomplete: "email", required: "", "aria-label": T.email, placeholder: T.email });
    var save = el("button", { cls: "primary", type: "submit", text: before ? T.continue_ : T.save });
    var card = el(before ? "div" : "li", { cls: "card first" });
    var form = el("form", { cls: "stack", novalidate: "", onsubmit: function (e) {
      e.preventDefault();
      err.textContent = "";
      save.disabled = true;
      chat.setVisitorEmail(email.value).then(function (v) {
        if (before) { conversation(); focusFirst(); return; }
        card.textContent = "";
        card.appendChild(el("p", { cls: "note", text: fmt(T.emailSaved, { email: v && v.email ? v.email : email.value }) }));
      }, function (x) { err.textContent = human(x); save.disabled = false; });
    } }, [el("p", { cls: "lead", text: before ? T.askEmailBefore : T.askEmailAfter }), el("div", { cls: "row" }, [email, save]), err,
      before ? null : el("button", { cls: "link", type: "button", text: T.notNow, onclick: function () { card.parentNode && card.parentNode.removeChild(card); } })]);
    card.appendChild(form);
    return card;
  }

  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  function initials(name) {
    var parts = String(name || "?").trim().split(/\s+/);
    return ((parts[0] || "?").charAt(0) + (parts.length > 1 ? parts[parts.length - 1].charAt(0) : "")).toUpperCase();
  }
  function avatar(name) {
    var a = el("span", { cls: "av", "aria-hidden": "true", text: initials(name) });
    if (avatarURL) {
      var img = el("img", { alt: "", src: avatarURL.replace("{name}", encodeURIComponent(String(name || "").toLowerCase())) });
      img.addEventListener("load", function () { a.textContent = ""; a.appendChild(img); });
    }
    return a;
  }

  // Consecutive messages of one author within five minutes form a group:
  // the name on the first, the avatar and the time on the last.
  var lastGroup = null;
  function authorKey(m) { return (m.author && m.author.type === "customer") ? "me" : (m.author && m.author.type) + ":" + (m.author && m.author.name); }
  function regroup() {
    var prev = null;
    Array.prototype.forEach.call(log.children, function (li) {
      if (!li.hasAttribute("data-author")) { prev = null; return; }
      var same = prev && prev.getAttribute("data-author") === li.getAttribute("data-author") &&
        Math.abs(+li.getAttribute("data-at") - +prev.getAttribute("data-at")) < 300000;
      li.classList.toggle("first", !same);
      if (prev) prev.classList.toggle("last", !same);
      prev = li;
    });
    if (prev) prev.classList.add("last");
  }

  function bubble(li, m, mine) {
    li.textContent = "";
    li.setAttribute("data-author", authorKey(m));
    li.setAttribute("data-at", String(m.createdAt ? Date.parse(m.createdAt) : Date.now()));
    li.appendChild(mine ? el("span", { cls: "av" }) : avatar(m.author && m.author.name));
    var b = el("div", { cls: "bub" }, [el("span", { cls: "who", text: mine ? T.you : m.author.name })]);
    var p = el("p", { cls: "text" });
    linkify(p, m.body);
    b.appendChild(p);
    b.appendChild(el("span", { cls: "meta", text: time(m.createdAt) }));
    li.appendChild(b);
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
      Array.prototype.some.call(log.children, function (c) {
        if (c.hasAttribute("data-seq") && +c.getAttribute("data-seq") > seq) { next = c; return true; }
        return false;
      });
      log.insertBefore(li, next);
    }
    if (key) delete items[key];
    items[m.id] = li;
    li.className = mine ? "mine" : "theirs";
    li.setAttribute("data-seq", m.seq);
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-ticket", m.ticketId);
    bubble(li, m, mine);
    mark(li);
    regroup();
    toBottom();
  }

  // Read marks: the agents' read position per ticket, from ticket events.
  var agentRead = {};
  function mark(li) {
    var meta = li.querySelector(".meta"), seq = +li.getAttribute("data-seq");
    if (!li.classList.contains("mine") || !meta || li.hasAttribute("data-read")) return;
    if (seq <= (agentRead[li.getAttribute("data-ticket")] || 0)) {
      li.setAttribute("data-read", "");
      meta.appendChild(document.createTextNode(" · " + T.read));
    }
  }

  // pending shows text as an own message waiting to be sent, under key.
  function pending(text, key) {
    var li = el("li", { cls: "mine pending", "data-seq": "Infinity" });
    bubble(li, { author: { type: "customer" }, body: text }, true);
    li.querySelector(".meta").textContent = chat.connectionState() === "open" && !unavailable ? "…" : T.pending;
    log.appendChild(li);
    items[key] = li;
    regroup();
    toBottom();
    return li;
  }

  function sendText(text, li) {
    var key = "pending-" + Math.random().toString(36).slice(2);
    var first = !hasConversation();
    if (li) items[key] = li;
    else li = pending(text, key);
    var arts = viewed();
    return chat.sendMessage(text, { articles: arts }).then(function (m) {
      setViewed([]);
      show(m, key);
      if (first && askEmail === "after" && !chat.isIdentified()) {
        var v = chat.getVisitor();
        if (v && !v.email) { log.appendChild(emailCard(false)); toBottom(); }
      }
    }, function (x) {
      if (x && x.code === "load_failed") { loadFailed = true; connection("closed"); }
      li.classList.remove("pending");
      li.classList.add("failed");
      var meta = li.querySelector(".meta");
      meta.classList.add("keep");
      meta.textContent = T.failed + " " + human(x) + " ";
      announce(meta.textContent);
      meta.appendChild(el("button", { cls: "link", type: "button", text: T.retry, onclick: function () {
        li.classList.remove("failed");
        li.classList.add("pending");
        meta.textContent = T.pending;
        sendText(text, li);
      } }));
      throw x;
    });
  }

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    // The message shows as pending at once and the composer is free for
    // the next: a refusal keeps the text on the bubble, with Retry.
    input.value = "";
    chat.setTyping(false);
    sendText(text).then(null, function () {});
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit ? composer.requestSubmit() : sendBtn.click(); }
  });
  input.addEventListener("input", function () { chat.setTyping(input.value.length > 0); });

  function isOpen() { return !panel.hidden; }
  function markRead() { if (isOpen() && view === "chat" && hasConversation()) chat.markRead(); }
  function toBottom() { body.scrollTop = body.scrollHeight; }
  function focusables() {
    return Array.prototype.filter.call(panel.querySelectorAll("button,input,textarea,a[href]"), function (x) {
      return !x.disabled && x.offsetParent !== null;
    });
  }
  function focusFirst() {
    var f = view === "chat" && !composer.hidden ? input : body.querySelector("input,textarea:not([disabled])") || focusables()[0];
    if (f) f.focus();
  }

  // The panel follows CStarChat's open state, which open(), close(),
  // toggle(), the launcher and Escape change.
  function render(open, o) {
    panel.hidden = !open;
    launcher.classList.toggle("on", open);
    launcher.setAttribute("aria-expanded", String(open));
    icon.firstChild.setAttribute("d", open ? ICON_CLOSE : ICON_CHAT);
    setBadge(chat.unreadCount());
    if (!open) {
      if (root.activeElement && !launcher.hidden) launcher.focus();
      return;
    }
    loadSettings();
    if (!view || (view === "chat" && !loadedHistory && hasConversation())) {
      if (hasConversation() || (o && o.message)) conversation(); else home();
    }
    if (o && o.message && view !== "chat") conversation();
    if (o && o.message && !composer.hidden) input.value = o.message;
    // The newest message in view: the panel has its size only now.
    toBottom();
    markRead();
    focusFirst();
  }
  chat.on("open", function (o) { render(true, o); });
  chat.on("close", function () { render(false); });
  launcher.addEventListener("click", function () { chat.toggle(); });
  // Hovering or focusing the launcher downloads the module meanwhile.
  launcher.addEventListener("pointerenter", function () { chat.prefetch(); });
  launcher.addEventListener("focus", function () { chat.prefetch(); });
  closeBtn.addEventListener("click", function () { chat.close(); });
  backBtn.addEventListener("click", function () {
    if (view === "article" || !hasConversation() && view !== "home") home(); else conversation();
    focusFirst();
  });
  helpBtn.addEventListener("click", function () { home(); focusFirst(); });
  logoutBtn.addEventListener("click", function () { chat.logout().then(null, function () {}); });
  // Escape closes; Tab stays inside the open panel.
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); chat.close(); return; }
    if (e.key !== "Tab") return;
    var f = focusables(), first = f[0], last = f[f.length - 1], cur = root.activeElement;
    if (e.shiftKey && cur === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && cur === last) { e.preventDefault(); first.focus(); }
  });

  // The header says whether the team answers now, from the team's setting
  // (read when the panel first opens); connection trouble is a quiet notice
  // of its own below it.
  function loadSettings() {
    if (settings) return;
    settings = chat.getSettings().then(function (s) {
      avatarURL = s.avatarUrl || "";
      var reply = { minutes: T.replyMinutes, hours: T.replyHours, day: T.replyDay }[s.replyTime];
      if (!s.availability && !reply) return;
      status.textContent = "";
      if (s.availability) status.appendChild(el("span", { cls: "dot" + (s.availability === "away" ? " away" : ""), "aria-hidden": "true" }));
      status.appendChild(el("span", { text: [s.availability === "online" ? T.online : s.availability === "away" ? T.away : "", reply]
        .filter(Boolean).join(" · ") }));
    }, function () { settings = null; });
  }

  var unavailable = false, wasOpen = false, loadFailed = false;
  function setNotice(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }
  function connection(s) {
    // Only a connection that was up and went is trouble worth a word;
    // the first connect is quiet.
    setNotice(loadFailed ? T.loadFailed : unavailable ? T.unavailable : wasOpen && s !== "open" ? T.reconnecting : "");
  }
  function setUnavailable(on) {
    unavailable = on;
    connection(chat.connectionState());
    if (on) Array.prototype.forEach.call(log.querySelectorAll("li.pending .meta"), function (m) { m.textContent = T.pending; });
  }

  function setBadge(n) {
    badge.hidden = !(n > 0) || isOpen();
    badge.textContent = n > 9 ? "9+" : String(n);
    launcher.setAttribute("aria-label", (isOpen() ? T.close : T.open) + (n > 0 ? ", " + fmt(T.unread, { n: n }) : ""));
  }

  chat.on("message", function (m) {
    if (view !== "chat" || composer.hidden) return;
    var key = m.clientId && items["c-" + m.clientId] ? "c-" + m.clientId : undefined;
    var fresh = !items[m.id] && !(m.author && m.author.type === "customer");
    show(m, key);
    if (fresh && heard) heard.push(m);
    else if (fresh) announce(m.author.name + ": " + m.body);
    typingLine.textContent = "";
    markRead();
    // An own message stored: the server answers again.
    if (m.author && m.author.type === "customer" && unavailable) setUnavailable(false);
  });
  // A send the server could not store for the moment stays pending and is
  // sent again by the SDK: the notice says it is waiting, not an error.
  chat.on("error", function (x) {
    if (x && x.code === "unavailable" && view === "chat") setUnavailable(true);
    if (x && x.code === "load_failed") { loadFailed = true; connection("closed"); }
  });
  // A message that arrives while the panel is open is read at once.
  chat.on("unread", function (n) { if (n > 0 && isOpen() && view === "chat") markRead(); else setBadge(n); });
  // A resumed connection means the server reads and writes again.
  chat.on("connection", function (s) {
    if (s === "open") { wasOpen = true; unavailable = false; }
    connection(s);
  });
  chat.on("typing", function (ev) {
    if (!ev || (ev.author && ev.author.type === "customer")) return;
    // The SDK reports the expiry too (typing false).
    var text = ev.typing ? fmt(T.typing, { name: ev.author.name }) : "";
    if (typingLine.textContent !== text) typingLine.textContent = text;
  });
  chat.on("ticket", function (t) {
    if (!t || !(t.agentReadSeq > (agentRead[t.id] || 0))) return;
    agentRead[t.id] = t.agentReadSeq;
    Array.prototype.forEach.call(log.children, mark);
  });
  chat.on("identified", function () { if (view && view !== "home" && view !== "article") { conversation(); if (isOpen()) focusFirst(); } });
  // The Log out button goes with the conversation: focus moves to the form.
  chat.on("logout", function () { if (view) { auth("login"); if (isOpen()) focusFirst(); } });

  // A mailed link's token comes in the page's fragment (#cstar_reset=… or
  // #cstar_verify=…), which no server sees; it is taken out of the address
  // (and so out of the history) at once. The page may be open already: the
  // link then changes only the fragment.
  function fromLink() {
    var link = /[#&]cstar_(reset|verify)=([\w-]+)/.exec(location.hash);
    if (!link) return;
    window.history.replaceState(null, "", location.pathname + location.search);
    if (link[1] === "reset") {
      reset(link[2]);
    } else {
      view = "verified";
      chat.verifyEmail(link[2]).then(function () { verified(true); }, function (x) {
        verified(false, x && x.code === "invalid" ? "" : human(x));
      });
    }
    if (chat.isOpen()) focusFirst(); else chat.open();
  }
  fromLink();
  window.addEventListener("hashchange", fromLink);

  document.body.appendChild(host);
  // The module may have connected before this script ran.
  if (chat.connectionState() === "open") wasOpen = true;
  setBadge(chat.unreadCount());
  if (chat.isOpen()) render(true, chat.__openOpts);
})();
