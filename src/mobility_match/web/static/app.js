// Small enhancements of our own; every page works without them.
// - [data-poll]: a page showing a running job or solve reloads its fragment every second
//   (without JavaScript, the page refreshes itself: <noscript><meta http-equiv="refresh">).
// - [data-confirm] on a form: ask before a destructive action (the server asks too).
(function () {
  "use strict";

  function poll(element) {
    var url = element.getAttribute("data-poll");
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(element.id);
          if (fresh) {
            element.replaceWith(fresh);
            element = fresh;
            if (!fresh.hasAttribute("data-poll")) {
              window.clearInterval(timer);
              window.location.reload();
            }
          }
        })
        .catch(function () { /* try again at the next tick */ });
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll][id]").forEach(poll);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
