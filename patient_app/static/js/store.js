// What the app keeps on the device between visits: the last profile and plans (so they open
// with no network), the outbox, and who is signed in. Never a token: the access token lives in
// memory only and the refresh token in an HttpOnly cookie the scripts cannot read.
// Cleared at logout, except the language and the outbox (which belongs to one username).

const PREFIX = "muli.";
const KEEP = new Set(["muli.lang", "muli.outbox"]);

export function get(name, fallback = null) {
  try {
    const raw = localStorage.getItem(PREFIX + name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function set(name, value) {
  try {
    localStorage.setItem(PREFIX + name, JSON.stringify(value));
  } catch {
    // Storage full or blocked: the app still works online.
  }
}

export function remove(name) {
  localStorage.removeItem(PREFIX + name);
}

export function clearPersonal() {
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(PREFIX) && !KEEP.has(key)) localStorage.removeItem(key);
  }
}

// A document as last fetched, with its ETag and when we got it.
export function keepDoc(name, body, etag) {
  set(name, { body, etag, saved_at: new Date().toISOString() });
}
