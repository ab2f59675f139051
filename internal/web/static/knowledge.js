// Deflection as people type (issue 20): on "get help", the description
// and the one-line summary ask the portal, as the reader pauses, for the
// published knowledge articles that may answer them, and show them in
// #kb-suggest. The server escapes the fragment; the page works without
// this script (the articles show after "Suggest the service").
(function () {
  var box = document.getElementById("kb-suggest");
  var fields = ["description", "summary"].map(function (id) { return document.getElementById(id); }).filter(Boolean);
  if (!box || !fields.length) return;
  var timer = null, asked = "", seq = 0;
  function ask() {
    var q = fields.map(function (f) { return f.value; }).join("\n").trim();
    if (q === asked) return;
    asked = q;
    if (q.length < 3) { box.innerHTML = ""; return; }
    var mine = ++seq;
    fetch("/knowledge/suggest?q=" + encodeURIComponent(q.slice(0, 4000)), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (mine !== seq || html === null) return; // a newer question is on its way
        box.innerHTML = html;
      })
      .catch(function () {});
  }
  fields.forEach(function (f) {
    f.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
  });
})();
