// thumbs console: small helpers, no framework, no build step.
(function () {
  "use strict";

  // The CSRF token of the session, for scripts that POST (sent as X-CSRF-Token).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // POST JSON to a console endpoint; resolves to the parsed body, rejects with the
  // error body ({code, message, ...}) so callers can show it.
  function postJSON(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrfToken()
      },
      body: JSON.stringify(payload)
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) { throw body; }
        return body;
      });
    });
  }

  // A form is sent once: its submit buttons are disabled while the page navigates.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") { return; }
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  window.thumbs = { csrfToken: csrfToken, postJSON: postJSON };
})();
