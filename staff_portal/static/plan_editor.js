// The crisis plan form's row buttons (add, remove, move up, move down), done in place.
// Without this script they are submit buttons and the server does the same; with it, the
// rows change at once and the names stay numbered as the server reads them
// (`section-0`, `section-0-part`), so the proposal posts exactly what is shown.
(function () {
  "use strict";
  var form = document.getElementById("propose-form");
  if (!form) return;

  function renumber(fieldset) {
    var section = fieldset.getAttribute("data-section");
    var pattern = new RegExp("^" + section + "-\\d+");
    var rows = fieldset.querySelectorAll("li.row");
    rows.forEach(function (row, i) {
      var prefix = section + "-" + i;
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) el.setAttribute(attr, value.replace(pattern, prefix));
        });
      });
      row.querySelectorAll("button[name=row_op]").forEach(function (button) {
        var op = button.value.split(":")[0];
        button.value = op + ":" + section + ":" + i;
        if (op === "up") button.disabled = i === 0;
        if (op === "down") button.disabled = i === rows.length - 1;
      });
      // "(item 2)" / "(punkt 2)": the number in the hidden words that name the row.
      row.querySelectorAll(".visually-hidden").forEach(function (span) {
        span.textContent = span.textContent.replace(/\d+/, String(i + 1));
      });
    });
  }

  function clear(row) {
    row.classList.remove("invalid");
    row.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    row.querySelectorAll("p.error").forEach(function (p) { p.remove(); });
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-describedby");
    });
  }

  function firstInput(row) {
    return row && row.querySelector("input");
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=row_op]");
    if (!button || !form.contains(button)) return;
    var parts = button.value.split(":");
    var op = parts[0];
    var fieldset = button.closest("fieldset.list-editor");
    if (!fieldset || ["add", "remove", "up", "down"].indexOf(op) < 0) return;
    event.preventDefault();
    var list = fieldset.querySelector("ol.rows");
    var row = button.closest("li.row");
    var focus = null;
    if (op === "add") {
      var last = list.querySelector("li.row:last-child");
      var fresh = last.cloneNode(true);
      clear(fresh);
      list.appendChild(fresh);
      focus = function () { firstInput(fresh).focus(); };
    } else if (op === "remove") {
      var next = row.nextElementSibling || row.previousElementSibling;
      if (list.querySelectorAll("li.row").length > 1) {
        row.remove();
      } else {
        clear(row);
        next = row;
      }
      focus = function () { (firstInput(next) || fieldset.querySelector(".add-row")).focus(); };
    } else if (op === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
      focus = function () { (button.disabled ? row.querySelector("button[value^='down:']") : button).focus(); };
    } else if (op === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
      focus = function () { (button.disabled ? row.querySelector("button[value^='up:']") : button).focus(); };
    }
    renumber(fieldset);
    if (focus) focus();
  });
})();
