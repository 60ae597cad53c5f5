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
