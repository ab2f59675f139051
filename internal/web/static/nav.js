// The navigation's menus (issue 17, item 5) are <details>: they open and
// close without JavaScript, and one group's menu closes another's (the
// name attribute). This only closes an open menu on a click elsewhere or
// on Escape, as people expect of a menu.
(function () {
  function openMenus() {
    return document.querySelectorAll("nav.nav details[open]");
  }
  document.addEventListener("click", function (e) {
    openMenus().forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });
  // Tabbing out of an open menu closes it, as a click elsewhere does.
  document.addEventListener("focusout", function (e) {
    var d = e.target.closest && e.target.closest("nav.nav details[open]");
    if (d && e.relatedTarget && !d.contains(e.relatedTarget)) d.removeAttribute("open");
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    openMenus().forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s && d.contains(document.activeElement)) s.focus();
    });
  });
})();
