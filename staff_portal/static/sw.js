// The portal's service worker (scope /portal/): shows a pushed notification and opens the
// request when it is clicked. It caches nothing: the portal's pages hold patient data.
// A payload carries no name and no health text: {id, kind, title, body, url, tag}.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function readPayload(event) {
  try {
    return event.data ? event.data.json() : {};
  } catch (_error) {
    return {};
  }
}

self.addEventListener("push", (event) => {
  const data = readPayload(event);
  const url = typeof data.url === "string" && data.url.startsWith("/portal/") ? data.url : "/portal/queue/";
  // The tag is the request's: a retried delivery (same id) replaces, never adds.
  event.waitUntil(
    self.registration.showNotification(data.title || "MULI", {
      body: data.body || "Noe i MULI venter på deg. / Something in MULI needs you.",
      tag: data.tag || "muli",
      renotify: true,
      requireInteraction: true,
      icon: "/app/static/icons/icon-192.png",
      data: { url, id: data.id || null },
    }),
  );
});

// Open the request a notification is about (after signing in when the session has ended:
// the sign-in page returns to it). On `self` so the browser tests can run it for a shown
// notification (DevTools cannot click one).
self.muliOpen = (notification) => {
  const target = new URL((notification.data && notification.data.url) || "/portal/queue/", self.location.origin);
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const client of windows) {
      if (new URL(client.url).pathname.startsWith("/portal/") && "navigate" in client) {
        // focus() is allowed only within a tap; elsewhere (the tests) the navigation is enough.
        return client.navigate(target.href).then((c) => (c || client).focus().catch(() => c || client));
      }
    }
    return self.clients.openWindow(target.href);
  });
};

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.muliOpen(event.notification));
});
