// Suggest as you type (issue 18): an input with data-suggest="/suggest"
// asks the portal, as the reader pauses, for the few offerings they may
// see that match what they typed, and shows them under the box as links
// with the matches marked. The server escapes and marks the fragment; the
// search itself works without this script. Arrow keys move through the
// suggestions, Escape closes them.
(function () {
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("aria-controls"));
    if (!box) return;
    var timer = null, asked = "", seq = 0;
    function close() {
      box.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
    }
    function links() {
      return Array.prototype.slice.call(box.querySelectorAll("a"));
    }
    function ask() {
      var q = input.value.trim();
      if (q === asked) return;
      asked = q;
      if (q.length < 2) { close(); return; }
      var mine = ++seq;
      fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (mine !== seq) return; // a newer question is on its way
          box.innerHTML = html;
          input.setAttribute("aria-expanded", links().length ? "true" : "false");
        })
        .catch(close);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", function (e) {
      var ls = links();
      if (e.key === "ArrowDown" && ls.length) { e.preventDefault(); ls[0].focus(); }
      if (e.key === "Escape") close();
    });
    box.addEventListener("keydown", function (e) {
      var ls = links(), i = ls.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < ls.length - 1) { e.preventDefault(); ls[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? ls[i - 1] : input).focus(); }
      if (e.key === "Escape") { close(); input.focus(); }
    });
    document.addEventListener("click", function (e) {
      if (!input.form.contains(e.target)) close();
    });
  });
})();
