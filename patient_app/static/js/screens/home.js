// Home: "Hei, Kari!", who can be reached now, and the four tiles. Settings: language, sign-out.

import * as api from "../api.js";
import { lang, setLang, t } from "../i18n.js";
import * as store from "../store.js";
import { formatTime, h, replace, withCallLinks } from "../ui.js";
import { alertBox, field, problemText } from "./common.js";
import { pushToggle, turnOff } from "../push.js";
import { passwordCard, sessionsCard } from "./account.js";

const TILES = [
  ["#/crisis", "crisis", "tile.crisis", "tile.crisis_sub"],
  ["#/contact", "contact", "tile.contact", "tile.contact_sub"],
  ["#/mastery", "mastery", "tile.mastery", "tile.mastery_sub"],
  ["#/diary", "diary", "tile.diary", "tile.diary_sub"],
];

// GET /me availability: {status: "office" | "on_call" | "none", next_change_at, next_status,
// on_call: {name, agency} | null}. "På vakt nå: Ola (DPS)" when someone is on call.
export function availabilityText(availability) {
  if (!availability?.status) return null;
  const person = availability.on_call;
  const text =
    availability.status === "on_call" && person
      ? t("availability.on_call_person", { name: person.name, agency: person.agency })
      : t(`availability.${availability.status}`);
  const next = availability.next_change_at;
  return next && availability.status !== "none"
    ? `${text} ${t("availability.until", { when: formatTime(next, lang) })}`
    : text;
}

export async function home(app) {
  const me = app.me || {};
  const session = store.get("session") || {};
  app.title("");
  const greeting = h("h1", { class: "greeting" }, t("home.hello", { name: me.display_name || session.name || "" }));
  const reach = h("p", { class: "availability", id: "availability" }, withCallLinks(availabilityText(me.availability) || ""));
  const active = h("div", { id: "active-request" });
  const tiles = h(
    "nav",
    { class: "tiles", "aria-label": t("home.tiles") },
    TILES.map(([href, kind, title, sub]) =>
      h("a", { href, class: `tile tile-${kind}` }, h("span", { class: "tile-title" }, t(title)), h("span", { class: "tile-sub" }, t(sub))),
    ),
  );
  const trusted = me.trusted_contact
    ? h(
        "p",
        { class: "trusted" },
        t("home.trusted", { name: me.trusted_contact.name, agency: me.trusted_contact.agency || "" }),
      )
    : null;
  const more = h(
    "ul",
    { class: "more" },
    h("li", {}, h("a", { href: "#/consents" }, t("nav.consents"))),
    h("li", {}, h("a", { href: "#/access-log" }, t("nav.access_log"))),
    h("li", {}, h("a", { href: "#/settings" }, t("nav.settings"))),
  );
  replace(app.main, greeting, reach, active, tiles, trusted, more);

  const activeId = store.get("contact.active");
  if (activeId) drawActive(active, store.get("contact.last"));
  try {
    const fresh = await app.loadMe();
    greeting.textContent = t("home.hello", { name: fresh.display_name });
    replace(reach, withCallLinks(availabilityText(fresh.availability) || ""));
  } catch {
    // offline: the saved profile is already on screen
  }
}

function drawActive(el, request) {
  if (!request || !["open", "acknowledged"].includes(request.state)) return;
  const text = request.call_started_at
    ? t("contact.calling", { name: request.call_started_by?.name || "", when: formatTime(request.call_started_at, lang) })
    : request.state === "acknowledged" && request.acknowledged_by
      ? t("contact.seen_by", { name: request.acknowledged_by.name, agency: request.acknowledged_by.agency, when: formatTime(request.acknowledged_at, lang) })
      : t("contact.sent");
  replace(el, h("a", { class: "banner", href: `#/contact/${request.id}` }, h("strong", {}, t("home.active_request")), " ", text));
}

export function settings(app) {
  app.title(t("nav.settings"));
  const message = h("div", { "aria-live": "polite" });
  const languages = h(
    "fieldset",
    { class: "card" },
    h("legend", {}, t("settings.language")),
    [
      ["nb", "Norsk (bokmål)"],
      ["en", "English"],
    ].map(([code, name]) =>
      h(
        "label",
        { class: "choice" },
        h("input", {
          type: "radio",
          name: "lang",
          value: code,
          checked: lang === code,
          onchange: async () => {
            await setLang(code);
            location.hash = "#/";
            location.reload();
          },
        }),
        " ",
        name,
      ),
    ),
  );
  // Signing out on purpose takes the crisis plan off the phone: say so, and ask once more.
  const out = h("button", { class: "secondary wide", type: "button", id: "logout" }, t("settings.logout"));
  const confirm = h("button", { class: "danger wide", type: "button", id: "logout-confirm" }, t("settings.logout_confirm"));
  const cancel = h("button", { class: "secondary wide", type: "button" }, t("form.cancel"));
  const warning = h(
    "div",
    { class: "card logout-warning", role: "alert", id: "logout-warning", hidden: true },
    h("p", {}, h("strong", {}, t("settings.logout_warning_title"))),
    h("p", {}, t("settings.logout_warning")),
    confirm,
    cancel,
  );
  out.addEventListener("click", () => {
    warning.hidden = false;
    out.hidden = true;
    confirm.focus();
  });
  cancel.addEventListener("click", () => {
    warning.hidden = true;
    out.hidden = false;
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    let offline = false;
    // Notifications off while the tokens still work, so the server forgets this device too.
    await turnOff().catch(() => {});
    try {
      await api.logout();
    } catch (error) {
      offline = error instanceof api.OfflineError;
      if (!offline) replace(message, alertBox(problemText(error)));
    }
    store.clearPersonal();
    // The cookie could not be revoked with no network: do it at the next start, before anything.
    if (offline) store.set("logout_pending", true);
    if ("caches" in window) {
      // Nothing personal is in the worker's cache, but be thorough on a shared phone.
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith("muli-data")).map((n) => caches.delete(n)));
    }
    sessionStorage.setItem("muli.signed_out", "1"); // the sign-in screen offers ID-porten's logout
    location.hash = "#/login";
  });
  replace(
    app.main,
    phoneCard(app),
    languages,
    pushToggle(),
    passwordCard(),
    sessionsCard(),
    h("section", { class: "card" }, h("p", {}, t("settings.logout_hint")), out, warning),
    message,
  );
}

// My number, the one the team calls back on ("Ring meg"). PUT /me/phone; empty removes it.
function phoneCard(app) {
  const me = app.me || {};
  const input = h("input", {
    type: "tel",
    name: "phone",
    autocomplete: "tel",
    inputmode: "tel",
    value: me.phone || "",
    placeholder: "+47 000 00 000",
  });
  const feedback = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, t("form.save"));
  return h(
    "form",
    {
      class: "card stack",
      id: "my-phone",
      onsubmit: async (event) => {
        event.preventDefault();
        save.disabled = true;
        replace(feedback);
        try {
          const { data } = await api.request("/me/phone", { method: "PUT", body: { phone: input.value.trim() || null } });
          store.set("me", data);
          input.value = data.phone || "";
          replace(feedback, alertBox(data.phone ? t("settings.phone_saved") : t("settings.phone_removed"), "ok"));
        } catch (error) {
          replace(feedback, alertBox(error instanceof api.ApiError && error.status === 422 ? t("settings.phone_invalid") : problemText(error)));
        } finally {
          save.disabled = false;
        }
      },
    },
    field(t("settings.phone"), input, t("settings.phone_hint")),
    feedback,
    save,
  );
}
