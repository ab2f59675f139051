// Asks before a destructive form is sent (issue 17, item 11). A form, or the
// button that submits it, with data-confirm="question?" shows that question;
// Cancel leaves the page as it was. Without JavaScript the form simply posts.
document.addEventListener("submit", function (e) {
  var b = e.submitter, f = e.target;
  var q = (b && b.getAttribute("data-confirm")) || f.getAttribute("data-confirm");
  if (q && !window.confirm(q)) {
    e.preventDefault();
  }
});
