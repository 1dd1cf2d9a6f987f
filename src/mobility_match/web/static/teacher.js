// The teacher's invitation page: a Print button (without JavaScript, the page says to use
// the browser's Print command; the print style sheet keeps only the name, link and QR code).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.print-button").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
