// Progressive enhancement only: every page works without this file.
// Ctrl+Enter (⌘+Enter) in a form marked data-submit-on-ctrl-enter sends it: the secretary records an
// opinion without leaving the keyboard.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  var form = event.target && event.target.form;
  if (!form || !form.hasAttribute("data-submit-on-ctrl-enter")) return;
  event.preventDefault();
  if (form.requestSubmit) form.requestSubmit(); else form.submit();
});
// A form already sent is not sent twice by a second click while the page loads (the services' idempotency
// keys make a double submit harmless anyway).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
  form.setAttribute("data-sent", "1");
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) { form.removeAttribute("data-sent"); });
});
