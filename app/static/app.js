// Casework's only script of its own (served from /static, as CSP script-src 'self' allows).
// After a form sent with htmx comes back with errors (422), the first field to fix gets the
// focus, so that keyboard and screen-reader users land on it instead of on <body>. The inline
// checks of one field (their target is the field's message, not a form) leave the focus be.
document.addEventListener("htmx:afterSwap", function (event) {
  var detail = event.detail || {};
  if (!detail.xhr || detail.xhr.status !== 422) {
    return;
  }
  var target = detail.target;
  if (target && !target.isConnected && target.id) {
    target = document.getElementById(target.id); // swapped outerHTML: its replacement
  }
  if (!target || !(target.matches("form") || target.querySelector("form"))) {
    return;
  }
  var invalid = target.querySelector('[aria-invalid="true"]');
  var summary = target.querySelector(".form-errors");
  var chosen = invalid || summary;
  if (chosen) {
    if (chosen === summary) {
      summary.setAttribute("tabindex", "-1");
    }
    chosen.focus();
  }
});

// A date field's day in words under it (app/templates/_fields.html, date_words): the browser
// shows the field in its own language's order (mm/dd/yyyy in an English browser, whatever the
// page's language), the words say which day it is, in the page's language.
function showChosenDay(input) {
  var words = document.querySelector('[data-date-words="' + input.id + '"]');
  var shown = words && words.querySelector("strong");
  if (!shown) {
    return;
  }
  var parts = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(input.value);
  if (!parts) {
    words.hidden = true;
    return;
  }
  var day = new Date(Date.UTC(2000, +parts[2] - 1, +parts[3], +(parts[4] || 0), +(parts[5] || 0)));
  day.setUTCFullYear(+parts[1]); // Date.UTC reads years 0-99 as 1900-1999
  var options = { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" };
  if (parts[4]) {
    options.hour = "2-digit";
    options.minute = "2-digit";
    options.hourCycle = "h23";
  }
  var language = document.documentElement.lang || "id";
  shown.textContent = new Intl.DateTimeFormat(language, options).format(day);
  words.hidden = false;
}

["input", "change"].forEach(function (kind) {
  document.addEventListener(kind, function (event) {
    var target = event.target;
    if (target.matches && target.matches('input[type="date"], input[type="datetime-local"]')) {
      showChosenDay(target);
    }
  });
});
