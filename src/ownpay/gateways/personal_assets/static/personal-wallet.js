// Copy buttons for the wallet number and the reference: shown only when the browser can
// copy (the page works without them: the values are plain text to select).
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) { return; }
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.firstChild.nodeValue;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.firstChild.nodeValue = "Copied";
        if (status) { status.textContent = "Copied " + source.textContent.trim(); }
        window.setTimeout(function () { button.firstChild.nodeValue = label; }, 2000);
      });
    });
  });
}());
