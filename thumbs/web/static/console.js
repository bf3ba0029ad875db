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

  // A form with data-confirm asks first (window.confirm: no inline script needed).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // A form is sent once: its submit buttons are disabled while the page navigates.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") { return; }
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // Times: the server writes ISO 8601 (UTC) in <time datetime>; show them relative
  // ("3 min ago") with the exact local time on hover.
  var units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  var relative = window.Intl && Intl.RelativeTimeFormat ?
    new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" }) : null;

  function ago(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    if (!relative) { return date.toLocaleString(); }
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) {
        return relative.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
    return "just now";
  }

  function showTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.textContent = ago(date);
      el.title = date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
      el.classList.add("relative");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showTimes(); });
  } else {
    showTimes();
  }
  window.setInterval(showTimes, 60000);

  window.thumbs = { csrfToken: csrfToken, postJSON: postJSON, showTimes: showTimes };
})();
