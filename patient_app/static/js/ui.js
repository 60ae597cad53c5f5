// Tiny DOM helpers. Text always goes in as text nodes, never as HTML: data cannot become markup.

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

export function formatTime(iso, lang) {
  if (!iso) return "";
  const when = new Date(iso);
  const today = new Date();
  const sameDay = when.toDateString() === today.toDateString();
  const locale = lang === "en" ? "en-GB" : "nb-NO";
  const time = when.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  if (sameDay) return time;
  return when.toLocaleDateString(locale, { day: "numeric", month: "short" }) + " " + time;
}

export function formatDate(iso, lang) {
  if (!iso) return "";
  const locale = lang === "en" ? "en-GB" : "nb-NO";
  return new Date(iso).toLocaleDateString(locale, { day: "numeric", month: "long", year: "numeric" });
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
