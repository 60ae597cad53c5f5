// Things written with no network: diary entries, contact requests and messages wait here,
// each with the Idempotency-Key it was given when written, and are sent once the network is
// back. A retry after a lost answer carries the same key, so the server does the work once.

import * as api from "./api.js";
import * as store from "./store.js";
import { uuid } from "./ui.js";

const RETRY_MS = 10000;
const listeners = new Set();
let flushing = null;
let timer = null;
const results = new Map();

function all() {
  return store.get("outbox", []);
}

function save(items) {
  store.set("outbox", items);
  for (const listener of [...listeners]) listener(items);
}

function owner() {
  return (store.get("session") || {}).username || null;
}

// The waiting items of whoever is signed in (an item never goes out under another account).
export function items(kind) {
  return all().filter((i) => i.owner === owner() && (!kind || i.kind === kind));
}

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const sentListeners = new Set();
export function onSent(listener) {
  sentListeners.add(listener);
  return () => sentListeners.delete(listener);
}

// Queue a POST and try to send it now. Answers the item; `sent` is the server's answer if it went.
export async function add(kind, path, body) {
  const item = { key: uuid(), kind, path, body, owner: owner(), created_at: new Date().toISOString() };
  save([...all(), item]);
  await flush();
  const still = all().find((i) => i.key === item.key);
  const sent = results.get(item.key);
  results.delete(item.key);
  return { item: still || item, waiting: Boolean(still && !still.error), error: still?.error, sent };
}

export function discard(key) {
  save(all().filter((i) => i.key !== key));
}

// Forget items of other accounts (a different person signed in on this phone).
export function keepOnly(username) {
  save(all().filter((i) => i.owner === username));
}

export function flush() {
  if (!flushing) {
    flushing = run().finally(() => {
      flushing = null;
      schedule();
    });
  }
  return flushing;
}

async function run() {
  for (const item of items()) {
    if (item.error) continue;
    try {
      const answer = await api.post(item.path, item.body, { "Idempotency-Key": item.key });
      results.set(item.key, answer.data);
      save(all().filter((i) => i.key !== item.key));
      for (const listener of [...sentListeners]) listener(item, answer.data);
    } catch (error) {
      if (error instanceof api.OfflineError) return;
      if (!(error instanceof api.ApiError)) return;
      // Still running, rate-limited, server trouble or signed out: try again later, same key.
      if ([401, 403, 408, 409, 425, 429].includes(error.status) || error.status >= 500) return;
      // Refused for good (the text is too long, the request is closed...): show it, do not retry.
      save(all().map((i) => (i.key === item.key ? { ...i, error: error.message } : i)));
    }
  }
}

function schedule() {
  clearTimeout(timer);
  if (items().some((i) => !i.error)) timer = setTimeout(flush, RETRY_MS);
}

api.on((event) => {
  if (event.type === "online") flush();
});
