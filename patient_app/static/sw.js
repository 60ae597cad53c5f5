// The MULI service worker: keeps the app shell so the app opens with no network.
// Scope /app/. The API (/api/) is never cached here: the page keeps the last crisis plan
// and profile itself, and queues what the patient writes offline (see js/store.js, js/outbox.js).
// VERSION and SHELL are filled in by the server (patient_app/__init__.py) from the files.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `muli-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("muli-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Shell files: from the cache at once (one bar of signal must not delay the crisis plan),
// refreshed in the background for next time. Everything else goes to the network untouched.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  const key = request.mode === "navigate" ? "/app/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key, { ignoreSearch: true });
      const fresh = fetch(request.mode === "navigate" ? "/app/" : request, { cache: "no-cache" })
        .then((response) => {
          if (response.ok && SHELL.includes(key)) cache.put(key, response.clone());
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      return (await fresh) || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
    }),
  );
});

// Web Push (see js/push.js): a notification that holds no name and nothing anyone wrote,
// {id, kind, title, body, url, tag}; the tag is the request's, so a retried delivery (the
// same id) replaces the notification instead of adding one. A tap opens the request.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const url = typeof data.url === "string" && data.url.startsWith("/app/") ? data.url : "/app/";
  event.waitUntil(
    self.registration.showNotification(data.title || "MULI", {
      body: data.body || "",
      tag: data.tag || "muli",
      renotify: true,
      icon: "/app/static/icons/icon-192.png",
      data: { url, id: data.id || null },
    }),
  );
});

// Open (or bring forward, at) the request a notification is about. On `self` so the browser
// tests can run it for a shown notification (DevTools cannot click one).
self.muliOpen = (notification) => {
  const target = new URL((notification.data && notification.data.url) || "/app/", self.location.origin);
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const client of windows) {
      if (new URL(client.url).pathname.startsWith("/app/") && "navigate" in client) {
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
