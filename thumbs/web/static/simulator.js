// The Simulator: chat with an assistant, rate each reply, rate the session.
// User text is only ever set with textContent; a reply's HTML is the server's Markdown
// rendering, which escapes any raw HTML (thumbs/web/markdown.py).
(function () {
  "use strict";
  var root = document.getElementById("simulator");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var pick = document.getElementById("sim-assistant");
  var chat = document.getElementById("sim-chat");
  var ask = document.getElementById("sim-ask");
  var input = document.getElementById("sim-body");
  var shown = document.getElementById("sim-session");
  var failure = document.getElementById("sim-error");
  var sessionForm = document.getElementById("sim-session-feedback");
  var replyTemplate = document.getElementById("sim-reply");
  var sessionId = root.getAttribute("data-session");
  var RESUME = "thumbs.simulator.resume";

  function message(err) {
    if (err && err.message) { return err.message; }
    return "The request failed; check the server and try again.";
  }

  function showError(text) {
    failure.textContent = text;
    failure.hidden = !text;
  }

  function option() { return pick.options[pick.selectedIndex]; }

  function reasonRequired(type) {
    var opt = option();
    return !!opt && opt.getAttribute("data-reason-" + type) === "yes";
  }

  // The reason box says what the assistant's effective settings ask for.
  function reasonLabel() {
    var up = reasonRequired("positive");
    var down = reasonRequired("negative");
    if (up && down) { return "Reason (required)"; }
    if (down) { return "Reason (required for thumbs down)"; }
    if (up) { return "Reason (required for thumbs up)"; }
    return "Reason (optional)";
  }

  function labelReasons() {
    var label = reasonLabel();
    chat.querySelectorAll(".reason").forEach(function (box) {
      box.placeholder = label;
      box.setAttribute("aria-label", label);
    });
  }

  // The session lives in the URL (?session=…&assistant=…): reload and Back restore it from
  // the server; the last one is remembered for this tab so the nav link returns to it.
  function remember() {
    var query = "?session=" + encodeURIComponent(sessionId) +
      "&assistant=" + encodeURIComponent(option().value);
    if (location.search !== query) { history.pushState(null, "", query); }
    sessionStorage.setItem(RESUME, query);
  }

  function newSession() {
    if (sessionId) { history.pushState(null, "", location.pathname); }
    sessionStorage.removeItem(RESUME);
    sessionId = null;
    shown.textContent = "new";
    chat.textContent = "";
    sessionForm.hidden = true;
    document.getElementById("sim-session-verdict").textContent = "";
    showError("");
  }

  function addUserTurn(text) {
    var li = document.createElement("li");
    li.className = "turn user";
    var role = document.createElement("span");
    role.className = "role";
    role.textContent = "you";
    var content = document.createElement("div");
    content.className = "content";
    content.textContent = text;
    li.appendChild(role);
    li.appendChild(content);
    chat.appendChild(li);
    return li;
  }

  function showVerdict(li, fb) {
    var verdict = li.querySelector(".verdict");
    verdict.textContent = "Your verdict: " + fb.feedback_type + " (" + fb.status + ")";
    li.setAttribute("data-verdict", fb.feedback_type);
    li.querySelectorAll(".thumb").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-type") === fb.feedback_type));
    });
  }

  // Send the verdict with the reason in the box: a thumb press, or the reason saved on its
  // own (Enter, or leaving the box) once there is a verdict. `sent` is the reason the store
  // holds (or is receiving), so a reason is sent once; the requests of one reply go one
  // after the other (leaving the box by pressing the other thumb sends both, in order).
  function rate(li, type, fromBox) {
    var reasonBox = li.querySelector(".reason");
    var reason = reasonBox.value.trim();
    var error = li.querySelector(".rate .error");
    var saved = li.querySelector(".reason-saved");
    error.textContent = "";
    if (!reason && reasonRequired(type)) {
      error.textContent = "A reason is required for " + type + " feedback on this assistant.";
      if (!fromBox) { reasonBox.focus(); }
      return;
    }
    var payload = { feedback_type: type };
    if (reason) { payload.reason = reason; }
    var before = li.sent;
    li.sent = reason;
    saved.textContent = "";
    var id = li.getAttribute("data-message-id");
    var url = api + "/messages/" + encodeURIComponent(id) + "/thumbs";
    li.queue = (li.queue || Promise.resolve())
      .then(function () { return window.thumbs.postJSON(url, payload); })
      .then(function (fb) {
        showVerdict(li, fb);
        li.sent = fb.reason || "";
        if (li.sent) { saved.textContent = "Reason saved."; }
      })
      .catch(function (err) {
        li.sent = before;
        error.textContent = message(err);
      });
  }

  function saveReason(li) {
    var verdict = li.getAttribute("data-verdict");
    var reason = li.querySelector(".reason").value.trim();
    if (!verdict || reason === li.sent) { return; }
    rate(li, verdict, true);
  }

  // Very long replies are collapsed behind "Show more".
  var LONG_REPLY = 5000;

  function showContent(li, html, length) {
    li.querySelector(".content").innerHTML = html;
    if (length > LONG_REPLY) { collapse(li); }
  }

  function collapse(li) {
    var content = li.querySelector(".content");
    content.classList.add("collapsed");
    var more = document.createElement("button");
    more.type = "button";
    more.className = "link more";
    more.textContent = "Show more";
    more.setAttribute("aria-expanded", "false");
    more.addEventListener("click", function () {
      var open = content.classList.toggle("collapsed") === false;
      more.textContent = open ? "Show less" : "Show more";
      more.setAttribute("aria-expanded", String(open));
    });
    content.insertAdjacentElement("afterend", more);
  }

  function addReply(out) {
    var li = replyTemplate.content.firstElementChild.cloneNode(true);
    li.setAttribute("data-message-id", out.message_id);
    showContent(li, out.html, out.body.length);
    wire(li);
    chat.appendChild(li);
    labelReasons();
  }

  function wire(li) {
    li.querySelectorAll(".thumb").forEach(function (b) {
      b.addEventListener("click", function () { rate(li, b.getAttribute("data-type")); });
    });
    var reasonBox = li.querySelector(".reason");
    reasonBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        saveReason(li);
      }
    });
    reasonBox.addEventListener("blur", function () { saveReason(li); });
    reasonBox.addEventListener("input", function () {
      li.querySelector(".reason-saved").textContent = "";
    });
  }

  // While the responder thinks, a placeholder turn says so (removed when it answers).
  function addThinking() {
    var li = document.createElement("li");
    li.className = "turn thinking";
    li.setAttribute("role", "status");
    li.textContent = "The assistant is thinking…";
    chat.appendChild(li);
    return li;
  }

  // A failed question is taken back out of the chat: its text returns to the box, and
  // the error offers to send it again.
  function showFailure(err) {
    showError(message(err));
    var again = document.createElement("button");
    again.type = "button";
    again.className = "secondary retry";
    again.textContent = "Retry";
    again.addEventListener("click", function () { ask.requestSubmit(); });
    failure.appendChild(document.createTextNode(" "));
    failure.appendChild(again);
  }

  ask.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    var opt = option();
    if (!text || !opt) { return; }
    showError("");
    var turn = addUserTurn(text);
    var thinking = addThinking();
    input.value = "";
    var button = ask.querySelector("button");
    button.disabled = true;
    input.disabled = true;
    var payload = { body: text };
    if (sessionId) { payload.session_id = sessionId; }
    window.thumbs.postJSON(api + "/assistants/" + encodeURIComponent(opt.value) + "/messages", payload)
      .then(function (out) {
        sessionId = out.session_id;
        shown.textContent = sessionId;
        remember();
        sessionForm.hidden = false;
        addReply(out);
      })
      .catch(function (err) {
        chat.removeChild(turn);
        if (!input.value) { input.value = text; }
        showFailure(err);
      })
      .then(function () {
        chat.removeChild(thinking);
        button.disabled = false;
        input.disabled = false;
        input.focus();
      });
  });

  sessionForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var opt = option();
    var verdict = document.getElementById("sim-session-verdict");
    if (!sessionId || !opt) {
      verdict.textContent = "Ask a question first: there is no session to rate yet.";
      return;
    }
    verdict.textContent = "Sending…";
    var payload = {
      session_id: sessionId,
      score: Number(document.getElementById("sim-session-score").value)
    };
    var note = document.getElementById("sim-session-text").value.trim();
    if (note) { payload.text = note; }
    window.thumbs.postJSON(api + "/assistants/" + encodeURIComponent(opt.value) + "/session-feedback", payload)
      .then(function (fb) { verdict.textContent = "Session rated: score " + fb.score; })
      .catch(function (err) { verdict.textContent = message(err); });
  });

  pick.addEventListener("change", newSession);
  window.addEventListener("popstate", function () { location.reload(); });
  if (sessionId) {
    chat.querySelectorAll("li.turn.assistant").forEach(function (li) {
      if (li.querySelector(".content").textContent.length > LONG_REPLY) { collapse(li); }
      wire(li);
    });
    labelReasons();
    remember();
  } else if (!location.search && sessionStorage.getItem(RESUME)) {
    location.replace(location.pathname + sessionStorage.getItem(RESUME));
    return;
  }
  document.getElementById("sim-new").addEventListener("click", newSession);
})();
