// Keeps an export's job page up to date without reloading it: every 3 seconds it fetches the page again
// and copies its status section over this one (an aria-live region, so the change is announced), until
// the file is ready or the job has ended. Without JavaScript the page offers a "Check again" link.
(function () {
  "use strict";
  var status = document.getElementById("export-status");
  if (!status || status.getAttribute("data-state") !== "preparing") {
    return;
  }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("export-status");
        if (!fresh) {
          return;
        }
        status.innerHTML = fresh.innerHTML;
        status.setAttribute("data-state", fresh.getAttribute("data-state"));
        if (fresh.getAttribute("data-state") === "preparing") {
          window.setTimeout(poll, 3000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, 3000);
})();
