// Notifications on this device: register the portal's service worker (scope /portal/),
// subscribe with the VAPID public key and hand the subscription to the portal. No library.
(function () {
  "use strict";
  var box = document.getElementById("this-device");
  var button = document.getElementById("push-on");
  if (!box || !button) { return; }
  var status = document.getElementById("push-status");

  function show(id) {
    ["push-unsupported", "push-denied", "push-failed"].forEach(function (name) {
      var el = document.getElementById(name);
      if (el) { el.hidden = name !== id; }
    });
  }

  function key(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function label() {
    var ua = navigator.userAgent;
    var browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
    var system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
    return system ? browser + " / " + system : browser;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    button.disabled = true;
    show("push-unsupported");
    return;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    show(null);
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") { throw new Error("denied"); }
        return navigator.serviceWorker.register(box.dataset.swUrl, { scope: "/portal/" });
      })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        return registration.pushManager.getSubscription().then(function (old) {
          return old || registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: key(box.dataset.publicKey),
          });
        });
      })
      .then(function (subscription) {
        var body = subscription.toJSON();
        body.label = label();
        return fetch(box.dataset.subscribeUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
          body: JSON.stringify(body),
        });
      })
      .then(function (response) {
        if (!response.ok) { throw new Error("refused " + response.status); }
        location.reload();
      })
      .catch(function (error) {
        button.disabled = false;
        show(String(error && error.message) === "denied" ? "push-denied" : "push-failed");
      });
  });
})();
