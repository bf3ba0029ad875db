// Review queue triage from the keyboard: j/k move, e edit, a approve, d dismiss, ? help.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll(".review-item"));
  var help = document.getElementById("review-help");
  var picks = Array.prototype.slice.call(document.querySelectorAll(".review-pick"));
  var progress = document.getElementById("review-progress");
  var current = -1;

  function select(index) {
    if (!items.length) { return; }
    index = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (el, i) {
      el.classList.toggle("selected", i === index);
      el.setAttribute("aria-current", i === index ? "true" : "false");
      el.hidden = i !== index;  // one item at a time; the list beside shows the rest
    });
    picks.forEach(function (el, i) {
      if (i === index) { el.setAttribute("aria-current", "true"); } else { el.removeAttribute("aria-current"); }
    });
    if (picks[index]) { picks[index].scrollIntoView({ block: "nearest" }); }
    if (progress) {
      progress.querySelector(".at").textContent =
        String(Number(progress.getAttribute("data-before")) + index + 1);
    }
    current = index;
    items[index].focus({ preventScroll: true });
  }

  function selected() { return current >= 0 ? items[current] : null; }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function submit(form) {
    if (form) { form.requestSubmit(); }
  }

  // Say what approving will make: the sentence follows the correction as it is edited.
  items.forEach(function (el) {
    var box = el.querySelector("textarea.correction");
    var effect = el.querySelector(".approve-effect");
    if (!box || !effect) { return; }
    box.addEventListener("input", function () {
      var edited = box.value.trim() !== "" && box.value !== box.defaultValue;
      effect.textContent = effect.getAttribute(edited ? "data-edited" : "data-plain");
    });
  });

  picks.forEach(function (el, i) {
    el.addEventListener("click", function (event) { event.preventDefault(); select(i); });
  });

  items.forEach(function (el, i) {
    el.addEventListener("click", function () { if (current !== i) { select(i); } });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); var el = selected(); if (el) { el.focus(); } }
      return;
    }
    var item = selected();
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "e":
        if (item) {
          var box = item.querySelector("textarea.correction");
          if (box) { box.focus(); box.select(); }
        }
        break;
      case "a": if (item) { submit(item.querySelector("form.approve")); } break;
      case "d":
        if (item) {
          var note = item.querySelector("input.dismiss-note");
          if (note && !note.value && document.activeElement !== note && !item.hasAttribute("data-dismissing")) {
            item.setAttribute("data-dismissing", "");
            note.focus();
          } else {
            submit(item.querySelector("form.dismiss"));
          }
        }
        break;
      case "?": if (help && help.showModal) { help.showModal(); } break;
      default: return;
    }
    event.preventDefault();
  });

  // Enter in the dismiss note dismisses; the first item starts selected
  if (items.length) { select(0); }
})();
