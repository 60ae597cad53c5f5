// The one door to /api/v1. The access token is kept in this module's memory only; the refresh
// token never reaches script: it travels in an HttpOnly cookie scoped to /api/v1/auth, and
// refresh rotates it. One refresh at a time (also across tabs, with a Web Lock), because a
// refresh token used twice ends the whole session family (unless it is a prompt retry after a
// lost answer, which gets the same new token again: docs/authentication.md).

import { lang } from "./i18n.js";

const BASE = "/api/v1";
const TIMEOUT_MS = 15000;

let accessToken = null;
let refreshing = null;
const listeners = new Set();
export let online = navigator.onLine;

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
  get code() {
    return (this.problem.type || "").split("/").pop();
  }
}

export class OfflineError extends Error {
  constructor() {
    super("offline");
  }
}

// Signed out (the session ended) or connectivity changed: the app listens.
export function on(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event) {
  for (const listener of [...listeners]) listener(event);
}

function setOnline(value) {
  if (online !== value) {
    online = value;
    emit({ type: value ? "online" : "offline" });
  }
}

window.addEventListener("online", () => setOnline(true));
window.addEventListener("offline", () => setOnline(false));

async function send(path, { method = "GET", body, headers = {}, auth = true } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  // Problem details come in the app's language (the server translates them).
  const all = { Accept: "application/json", "Accept-Language": lang, ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  if (auth && accessToken) all.Authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch {
    setOnline(false);
    throw new OfflineError();
  } finally {
    clearTimeout(timer);
  }
  setOnline(true);
  return response;
}

async function parse(response) {
  if (response.status === 204 || response.status === 304) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function doRefresh() {
  const response = await send("/auth/refresh", { method: "POST", body: { cookie: true }, auth: false });
  const data = await parse(response);
  if (!response.ok) {
    accessToken = null;
    throw new ApiError(response.status, data);
  }
  accessToken = data.access_token;
  return accessToken;
}

// A new access token from the cookie; callers share one attempt.
export function refresh() {
  if (!refreshing) {
    const run = navigator.locks ? () => navigator.locks.request("muli-refresh", doRefresh) : doRefresh;
    refreshing = run().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export function hasToken() {
  return accessToken !== null;
}

export async function login(username, password) {
  const response = await send("/auth/token", {
    method: "POST",
    body: { username, password, cookie: true },
    auth: false,
  });
  const data = await parse(response);
  if (!response.ok) {
    const wait = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    throw new ApiError(response.status, data, Number.isFinite(wait) ? wait : null);
  }
  accessToken = data.access_token;
}

// Other ways to sign in than username and password (ID-porten, when the service has it on).
export async function signInOptions() {
  try {
    const response = await send("/auth/sign-in-options", { auth: false });
    return response.ok ? await parse(response) : {};
  } catch {
    return {};
  }
}

export async function activate(activation_code, username, password) {
  const response = await send("/auth/activate", {
    method: "POST",
    body: { activation_code, username, password },
    auth: false,
  });
  const data = await parse(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export async function logout() {
  try {
    if (!accessToken) await refresh();
    await send("/auth/logout", { method: "POST" });
  } finally {
    accessToken = null;
  }
}

// request("/me/diary", {method: "POST", body, headers}) → {status, data, etag, headers}.
// A 401 gets one refresh and one retry; a refused refresh means the session is over.
export async function request(path, options = {}) {
  if (!accessToken) await refreshOrEnd();
  let response = await send(path, options);
  if (response.status === 401) {
    await refreshOrEnd();
    response = await send(path, options);
  }
  const data = await parse(response);
  if (!response.ok && response.status !== 304) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) ended(error);
    throw error;
  }
  return { status: response.status, data, etag: response.headers.get("ETag"), headers: response.headers };
}

async function refreshOrEnd() {
  try {
    await refresh();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) ended(error);
    throw error;
  }
}

// The team ended the account (problem type ".../account-disabled"), as opposed to a session
// that ended (expired, revoked, signed out elsewhere): only then does the phone forget the plan.
export function accountEnded(error) {
  return error instanceof ApiError && error.code === "account-disabled";
}

function ended(error) {
  accessToken = null;
  emit({ type: "signed-out", accountEnded: accountEnded(error) });
}

export const get = (path) => request(path);
export const post = (path, body, headers) => request(path, { method: "POST", body, headers });
