// Tiny DOM helpers. Text always goes in as text nodes, never as HTML: data cannot become markup.

import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name in el && typeof value !== "string") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function telHref(number) {
  return "tel:" + String(number).replace(/[^\d+]/g, "");
}

// Text with the emergency numbers in it ("ring 116 117, eller 113") as text and tel: links,
// so every number the app shows can be called with one tap.
const EMERGENCY = /(116 117|\b113\b)/g;
export function withCallLinks(text) {
  return String(text)
    .split(EMERGENCY)
    .map((part, i) => (i % 2 ? h("a", { class: "inline-call", href: telHref(part) }, part) : part))
    .filter((part) => part !== "");
}

// Times as a person reads them, in Norway's time (the team's, whatever the phone is set to):
// "kl. 05:14" today, "i går kl. 23:10", "28. nov. kl. 05:14" (with the year when it is another).
const ZONE = "Europe/Oslo";

function osloDay(date) {
  return date.toLocaleDateString("en-CA", { timeZone: ZONE }); // 2026-11-30
}

export function formatTime(iso, lang) {
  if (!iso) return "";
  const when = new Date(iso);
  const now = new Date();
  const locale = lang === "en" ? "en-GB" : "nb-NO";
  const time = when.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: ZONE });
  const day = osloDay(when);
  if (day === osloDay(now)) return t("time.today", { time });
  if (day === osloDay(new Date(now.getTime() - 86400000))) return t("time.yesterday", { time });
  const sameYear = day.slice(0, 4) === osloDay(now).slice(0, 4);
  const date = when.toLocaleDateString(locale, { day: "numeric", month: "short", timeZone: ZONE, ...(sameYear ? {} : { year: "numeric" }) });
  return t("time.on_day", { date, time });
}

// A day ("2026-11-30", or a moment) as "30. november 2026".
export function formatDate(iso, lang) {
  if (!iso) return "";
  const locale = lang === "en" ? "en-GB" : "nb-NO";
  const plainDay = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const when = new Date(plainDay ? `${iso}T12:00:00Z` : iso);
  return when.toLocaleDateString(locale, { day: "numeric", month: "long", year: "numeric", timeZone: plainDay ? "UTC" : ZONE });
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
