// On a certificate's "being prepared" page: every few seconds asks whether the PDF is ready with a HEAD request
// (which sends no file and records no download), and then starts the download. Any other answer (the certificate
// revoked meanwhile, signed out) is shown by going to the download address itself. Without JavaScript the page
// offers a "Try the download again" link.
(function () {
  "use strict";
  var status = document.getElementById("certificate-preparing");
  if (!status) {
    return;
  }
  var url = status.getAttribute("data-download");
  var delay = 1000 * Number(status.getAttribute("data-seconds") || "3");
  function poll() {
    fetch(url, { method: "HEAD", credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 202) {
          window.setTimeout(poll, delay);
          return;
        }
        status.querySelector(".lead").textContent = "Your certificate is ready: the download starts now.";
        window.location.assign(url);
      })
      .catch(function () {
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, delay);
})();
