// thumbs console: small helpers, no framework, no build step.
(function () {
  "use strict";

  // The CSRF token of the session, for scripts that POST (sent as X-CSRF-Token).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function consoleBase() {
    var meta = document.querySelector('meta[name="console-base"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The session ended (expired, or signed out in another tab): say so, with a link to
  // sign in again in a new tab, so what is on this page is kept for a retry.
  function showSignedOut(url) {
    var banner = document.querySelector(".signed-out");
    if (!banner) { return; }
    var link = banner.querySelector("a.sign-in-link");
    if (link && url) { link.setAttribute("href", url); }
    banner.hidden = false;
  }

  function hideSignedOut() {
    var banner = document.querySelector(".signed-out");
    if (banner) { banner.hidden = true; }
  }

  // Signed in again since this page was made: take the new session's form token, for the
  // scripts and for the page's forms.
  function refreshToken() {
    return fetch(consoleBase() + "/api/session", {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (res) {
      if (!res.ok) { return false; }
      return res.json().then(function (body) {
        var meta = document.querySelector('meta[name="csrf-token"]');
        if (meta) { meta.setAttribute("content", body.csrf_token); }
        document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
          input.value = body.csrf_token;
        });
        return true;
      });
    });
  }

  function send(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrfToken()
      },
      body: JSON.stringify(payload)
    });
  }

  // POST JSON to a console endpoint; resolves to the parsed body, rejects with the
  // error body ({code, message, ...}) so callers can show it. A 401 carries the sign-in
  // page in details.sign_in_url: the page shows the signed-out banner with it. A form
  // token refused (61101) after signing in again elsewhere: the new token is fetched and
  // the request sent once more (a refused token means nothing was done).
  function postJSON(url, payload, retried) {
    return send(url, payload).then(function (res) {
      return res.json().then(function (body) {
        if (res.ok) {
          hideSignedOut();
          return body;
        }
        if (res.status === 401 && body && body.details && body.details.sign_in_url) {
          showSignedOut(body.details.sign_in_url);
        }
        if (res.status === 403 && body && body.code === 61101 && !retried) {
          return refreshToken().then(function (fresh) {
            if (!fresh) { throw body; }
            return postJSON(url, payload, true);
          });
        }
        throw body;
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

  // The menu button (narrow screens): shows and hides the navigation.
  var menuButton = document.querySelector(".menu-button");
  if (menuButton) {
    menuButton.addEventListener("click", function () {
      var open = menuButton.getAttribute("aria-expanded") !== "true";
      menuButton.setAttribute("aria-expanded", String(open));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menuButton.getAttribute("aria-expanded") === "true") {
        menuButton.setAttribute("aria-expanded", "false");
        menuButton.focus();
      }
    });
  }

  // Forms marked data-unsaved-warning: say when they hold unsaved changes, and ask before
  // leaving the page with them. Fields marked data-mirror only show a value kept
  // elsewhere (the page's script says which): they are no change.
  document.querySelectorAll("form[data-unsaved-warning]").forEach(function (form) {
    var status = form.querySelector(".unsaved");
    var submitting = false;
    // every field of the form, those outside it (form="…") too
    function snapshot() {
      var data = [];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden" || el.hasAttribute("data-mirror")) { return; }
        data.push(el.name + "=" + (el.type === "checkbox" ? el.checked : el.value));
      });
      return data.join("&");
    }
    var saved = snapshot();
    function dirty() { return snapshot() !== saved; }
    function update() {
      var changed = dirty();
      if (status) { status.hidden = !changed; }
      form.classList.toggle("is-dirty", changed);
    }
    // after the page's own handlers of the same event (they may change other fields)
    function later() { window.setTimeout(update, 0); }
    document.addEventListener("input", later);
    document.addEventListener("change", later);
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (!submitting && dirty()) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    update();
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

  window.thumbs = {
    csrfToken: csrfToken, postJSON: postJSON, showSignedOut: showSignedOut, showTimes: showTimes
  };
})();
