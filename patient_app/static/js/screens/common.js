// Pieces several screens share.

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import * as store from "../store.js";
import { formatTime, h, replace } from "../ui.js";

// What went wrong, in the app's language: the server translates a problem's detail and the
// domain's field messages (Accept-Language, api.js); a body the schema refused (its messages
// are the framework's, in English) and an answer without a detail get the app's own words.
export function problemText(error) {
  if (error instanceof api.OfflineError) return t("offline.unavailable");
  if (error instanceof api.ApiError) {
    const fields = Object.entries(error.problem.errors || {});
    if (fields.length && error.code === "validation-failed") {
      return fields.map(([, msgs]) => [].concat(msgs).join(" ")).join(" ");
    }
    if (error.status < 500 && error.problem.detail && error.code !== "unprocessable-entity") {
      return error.problem.detail;
    }
  }
  return t("error.generic");
}

export function alertBox(text, kind = "error") {
  return h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint" }, hint) : null,
    input,
  );
}

// A document (crisis plan, mastery plan) that opens from the phone at once and is refreshed
// from the API behind it. draw(body, {saved_at, fresh, etag}) runs once or twice.
// The refresh is conditional: with the ETag of the copy on the phone in If-None-Match, an
// unchanged document (the plan, the team's emergency numbers, the programme) is a 304 with
// no body, and the phone keeps its copy, now confirmed current.
export async function cachedDoc(name, path, draw) {
  const kept = store.get(name);
  if (kept) draw(kept.body, { ...kept, fresh: false });
  try {
    const headers = kept?.etag && kept.body ? { "If-None-Match": kept.etag } : {};
    const { status, data, etag } = await api.request(path, { headers });
    if (status === 304 && kept) {
      store.keepDoc(name, kept.body, etag || kept.etag);
      draw(kept.body, { etag: etag || kept.etag, saved_at: new Date().toISOString(), fresh: true });
      return;
    }
    store.keepDoc(name, data, etag);
    draw(data, { etag, saved_at: new Date().toISOString(), fresh: true });
  } catch (error) {
    // Offline, or the session ended on the way (the app then shows the kept copy signed out):
    // what the phone has stays on screen.
    const ended = error instanceof api.ApiError && error.status === 401;
    if (!kept || !(error instanceof api.OfflineError || ended)) throw error;
    if (!ended) draw(kept.body, { ...kept, fresh: false, offline: true });
  }
}

export function savedNote(meta) {
  if (meta.fresh) return null;
  return h(
    "p",
    { class: "saved-note", role: "status" },
    meta.offline ? t("offline.saved_copy", { when: formatTime(meta.saved_at, lang) }) : t("loading.updating"),
  );
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function list(items, render) {
  return h(
    "ul",
    { class: "items" },
    items.map((item) => h("li", {}, render(item))),
  );
}

export function busy(button, fn) {
  return async (event) => {
    event?.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try {
      await fn();
    } finally {
      button.disabled = false;
    }
  };
}

export function emptyState(text) {
  return h("p", { class: "empty" }, text);
}

export function status(el, text, kind = "info") {
  replace(el, text ? alertBox(text, kind) : null);
}
