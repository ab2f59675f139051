// Keyboard shortcuts of the service desk's workspace (issue 20). In a
// queue: j and k move between tickets, x selects the one in focus for a
// bulk assignment, / finds. On a ticket: t takes it, c writes a comment,
// r a resolution. ? shows them. Never while typing in a field.
document.addEventListener("keydown", function (e) {
  var t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)))) {
    return;
  }
  var links = Array.prototype.slice.call(document.querySelectorAll('table.tickets td a[href^="/tickets/"]'));
  var at = links.indexOf(document.activeElement);
  var act = {
    "j": function () { if (links.length) { links[Math.min(at + 1, links.length - 1)].focus(); } },
    "k": function () { if (links.length) { links[Math.max(at - 1, 0)].focus(); } },
    "x": function () {
      var row = document.activeElement && document.activeElement.closest("tr");
      var box = row && row.querySelector('input[name="ticket"]');
      if (box) { box.checked = !box.checked; }
    },
    "/": function () { var q = document.getElementById("q"); if (q) { q.focus(); } },
    "t": function () { var b = document.querySelector('form[action$="/take"] button'); if (b) { b.click(); } },
    "c": function () { var f = document.getElementById("body"); if (f) { f.focus(); } },
    "r": function () { var f = document.getElementById("resolution"); if (f) { f.focus(); } },
    "?": function () { var d = document.querySelector("details.shortcuts"); if (d) { d.open = !d.open; } }
  }[e.key];
  if (act) {
    e.preventDefault();
    act();
  }
});
