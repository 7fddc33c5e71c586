// Copy buttons for the wallet number and the reference: shown only when the browser can
// copy (the page works without them: the values are plain text to select).
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) { return; }
  var script = document.currentScript;
  // Its words in the page's language (gateways/personal_assets/templates/wallet.html).
  var copied = (script && script.getAttribute("data-copied")) || "Copied";
  var copiedText = (script && script.getAttribute("data-copied-text")) || "Copied {text}";
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.firstChild.nodeValue;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.firstChild.nodeValue = copied;
        if (status) { status.textContent = copiedText.replace("{text}", source.textContent.trim()); }
        window.setTimeout(function () { button.firstChild.nodeValue = label; }, 2000);
      });
    });
  });
}());
