/* The floor's loader: loads wasm_exec.js and the module after the page's
 * load event, exactly as cstar-chat.js loads the SDK, and notes when the
 * program has published its global. */
(function () {
  "use strict";
  var base = new URL(document.currentScript.src).origin;
  window.__floorPublished = function () { window.__readyAt = performance.now(); };
  function load() {
    var glue = document.createElement("script");
    glue.src = base + "/widget/wasm_exec.js";
    glue.async = true;
    glue.onload = function () {
      var go = new window.Go();
      var url = base + "/widget/__CSTAR_WASM__";
      WebAssembly.instantiateStreaming(fetch(url), go.importObject).then(function (r) { go.run(r.instance); },
        function (e) { window.__readyError = String(e); });
    };
    document.head.appendChild(glue);
  }
  if (document.readyState === "complete") setTimeout(load, 0);
  else window.addEventListener("load", load);
})();
