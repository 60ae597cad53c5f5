// Message catalogues: static/i18n/{nb,en}.json, fetched once (and kept by the service worker).
// Bokmål unless the patient chose English; the choice is kept on the device.

const LANGS = ["nb", "en"];
let catalogue = {};
let fallback = {};
export let lang = "nb";

async function load(code) {
  const response = await fetch(`/app/static/i18n/${code}.json`);
  if (!response.ok) throw new Error(`catalogue ${code}: ${response.status}`);
  return response.json();
}

export async function init() {
  const chosen = localStorage.getItem("muli.lang");
  lang = LANGS.includes(chosen) ? chosen : "nb";
  fallback = await load("nb");
  catalogue = lang === "nb" ? fallback : await load(lang).catch(() => fallback);
  document.documentElement.lang = lang;
  document.querySelector('meta[name="description"]')?.setAttribute("content", t("app.description"));
}

export async function setLang(code) {
  if (!LANGS.includes(code)) return;
  localStorage.setItem("muli.lang", code);
  await init();
}

// t("contact.seen_by", {name: "Ola"}): the message with {placeholders} filled in.
// A message that depends on a number is an object of plural forms, {"one": ..., "other": ...}
// (CLDR's categories for the language: Intl.PluralRules), chosen by vars.n or vars.count.
export function t(key, vars = {}) {
  let text = catalogue[key] ?? fallback[key] ?? key;
  if (typeof text === "object") {
    const count = Number(vars.n ?? vars.count ?? 0);
    text = text[new Intl.PluralRules(lang).select(count)] ?? text.other;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? "").toString());
}
