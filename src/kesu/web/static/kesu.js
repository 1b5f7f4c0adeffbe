// Kesu console and portal behaviour. Loaded as a file (CSP script-src 'self'): no inline
// scripts, no inline event handlers. Every page works without it; this only helps.
(function () {
  "use strict";

  // Live countdowns: <time data-due="ISO" data-warn="ISO" data-overdue="label">.
  // The server's clock is the reference (body[data-server-now]), not the browser's.
  var serverNow = Date.parse(document.body.getAttribute("data-server-now") || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
  var dayUnit = document.body.getAttribute("data-day-unit") || "d";  // 天 / d: the page's language

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? d + dayUnit + " " : "") + two(h) + ":" + two(m) + ":" + two(s % 60);
  }
  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      var warn = Date.parse(el.getAttribute("data-warn") || "");
      var left = el.querySelector(".left");
      if (!left) { left = document.createElement("span"); left.className = "left"; el.appendChild(left); }
      var ms = due - now;
      el.classList.toggle("breach", ms < 0);
      el.classList.toggle("warn", ms >= 0 && !isNaN(warn) && now >= warn);
      left.textContent = ms < 0 ? (el.getAttribute("data-overdue") || "-") + " " + span(ms) : span(ms);
    });
  }
  if (document.querySelector("time[data-due]")) { tick(); setInterval(tick, 1000); }

  // Reply templates (话术): choosing one inserts its text into the message field at the caret.
  document.addEventListener("change", function (ev) {
    var sel = ev.target;
    if (!sel.matches || !sel.matches("select[data-insert-into]") || !sel.value) { return; }
    var box = document.getElementById(sel.getAttribute("data-insert-into"));
    if (box) {
      var at = box.selectionStart || box.value.length;
      box.value = box.value.slice(0, at) + sel.value + box.value.slice(box.selectionEnd || at);
      box.focus();
    }
    sel.value = "";
  });

  // Ctrl+Enter (⌘+Enter) submits the form from anywhere, textareas included: keyboard-only intake.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.form) {
      ev.preventDefault();
      ev.target.form.requestSubmit();
    }
  });

  // Print buttons on printable forms.
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-print]")) { window.print(); }
  });

  // Repeat-complainant lookup: fill the caller's name if it is still empty. Selected when the
  // receiver is already in the field, so what they go on typing replaces it (as after Tab)
  // instead of being appended to it.
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    var known = ev.target.querySelector && ev.target.querySelector("[data-known-name]");
    var name = document.querySelector("input[name='complainant.name']");
    if (known && name && !name.value) {
      name.value = known.getAttribute("data-known-name");
      if (document.activeElement === name) { name.select(); }
    }
  });
})();
