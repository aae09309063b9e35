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
