// Settings, feedback lifecycle. An assistant's type that follows the account default shows
// the account default's values as they are on the page; changing one of them makes the
// setting the assistant's own ("Own setting"), and choosing "Account default" again shows
// the account's values (saving then removes the assistant's own setting).
(function () {
  "use strict";
  var table = document.getElementById("lifecycle");
  if (!table) { return; }

  function accountValue(type, flag) {
    var box = table.querySelector('input[name="account.' + type + "." + flag + '"]');
    return !!box && box.checked;
  }

  function show(row) {
    var select = row.querySelector("select.from");
    if (!select) { return; }
    var inherited = select.value === "account";
    var type = row.getAttribute("data-type");
    row.classList.toggle("inherited", inherited);
    var note = row.querySelector(".from-note");
    if (note) { note.hidden = !inherited; }
    row.querySelectorAll("input[type=checkbox][data-flag]").forEach(function (box) {
      // an inherited value only mirrors the account's: it is no change of this row
      box.toggleAttribute("data-mirror", inherited);
      if (inherited) { box.checked = accountValue(type, box.getAttribute("data-flag")); }
    });
  }

  function showAll() {
    table.querySelectorAll("tr[data-type]").forEach(show);
  }

  showAll();
  table.addEventListener("change", function (event) {
    var target = event.target;
    var row = target.closest("tr[data-type]");
    if (target.matches("select.from")) {
      show(row);
    } else if (target.matches("input[data-flag]")) {
      var select = row.querySelector("select.from");
      if (select && select.value === "account") {
        select.value = "own";  // a changed value is the assistant's own
        show(row);
      }
      if (target.name.indexOf("account.") === 0) { showAll(); }
    }
  });
})();
