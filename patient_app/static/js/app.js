// The patient app: boot, the router, and the parts every screen shares (header, offline
// notice, the emergency numbers). Screens live in ./screens/ and draw into <main>.

import * as api from "./api.js";
import { init as initI18n, t } from "./i18n.js";
import * as outbox from "./outbox.js";
import * as screens from "./screens/index.js";
import * as store from "./store.js";
import { h, replace, telHref } from "./ui.js";

const main = document.getElementById("main");
const top = document.getElementById("top");
const sos = document.getElementById("sos");
let cleanups = [];
let meLoading = null;

// What every screen gets: where to draw, how to move on, the profile as last known.
export const app = {
  main,
  get me() {
    return store.get("me");
  },
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  // Run when the patient leaves the screen (stop polling, drop listeners).
  onLeave(fn) {
    cleanups.push(fn);
  },
  title(text) {
    document.title = text ? `${text} – MULI` : "MULI";
    drawHeader(text);
  },
  loadMe,
  signedIn(me) {
    store.remove("logout_pending");
    store.set("session", { id: me.id, name: me.display_name, since: new Date().toISOString() });
    outbox.keepOnly(me.id);
    outbox.flush();
  },
  redraw: () => route(),
};

const PUBLIC = new Set(["login", "activate"]);

function parse() {
  const path = location.hash.replace(/^#\/?/, "");
  const parts = path.split("/").filter(Boolean);
  return { path, parts };
}

async function route() {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // a screen's tidy-up failing must not stop the next screen
    }
  }
  const { parts } = parse();
  const session = store.get("session");
  if (!session && !PUBLIC.has(parts[0] || "")) {
    if (location.hash !== "#/login") location.replace("#/login");
    else await show(screens.find(["login"]));
    return;
  }
  await show(screens.find(parts));
}

async function show(found) {
  window.scrollTo(0, 0);
  replace(main);
  drawNotice();
  try {
    await found.render(app, ...found.params);
  } catch (error) {
    replace(main, h("p", { class: "error", role: "alert" }, errorText(error)));
  }
  main.focus({ preventScroll: true });
}

export function errorText(error) {
  if (error instanceof api.OfflineError) return t("offline.unavailable");
  if (error instanceof api.ApiError) return error.message || t("error.generic");
  return t("error.generic");
}

function drawHeader(title) {
  const { parts } = parse();
  const home = parts.length === 0;
  const back = parts.length > 1 ? `#/${parts.slice(0, -1).join("/")}` : "#/";
  replace(
    top,
    home || PUBLIC.has(parts[0])
      ? h("span", { class: "brand" }, "MULI")
      : h("a", { class: "back", href: back, "aria-label": t("nav.back") }, "‹ ", t("nav.back")),
    h("h1", { class: "title" }, title || ""),
    home ? h("a", { class: "menu", href: "#/settings" }, t("nav.settings")) : null,
  );
}

// "No network" and "n things wait to be sent", above every screen.
function drawNotice() {
  document.getElementById("notice")?.remove();
  const waiting = store.get("session") ? outbox.items().filter((i) => !i.error).length : 0;
  if (api.online && !waiting) return;
  const notice = h(
    "div",
    { id: "notice", class: api.online ? "notice" : "notice offline", role: "status" },
    api.online ? null : h("p", {}, t("offline.banner")),
    waiting ? h("p", {}, t("outbox.waiting", { n: waiting })) : null,
  );
  main.before(notice);
}

// 113, 116 117 and the team's numbers: one tap away on every screen, signed in or not.
function drawSos() {
  const me = store.get("me");
  const numbers = me?.emergency_numbers?.length
    ? me.emergency_numbers
    : [
        { number: "113", kind: "emergency" },
        { number: "116 117", kind: "emergency_gp" },
      ];
  replace(
    sos,
    numbers.map((n) =>
      h(
        "a",
        { class: `sos-call sos-${n.kind || "other"}`, href: telHref(n.number) },
        h("span", { class: "sos-number" }, n.number),
        h("span", { class: "sos-label" }, sosLabel(n)),
      ),
    ),
  );
  sos.setAttribute("aria-label", t("sos.label"));
}

function sosLabel(n) {
  const key = { emergency: "sos.113", emergency_gp: "sos.116117", team: "sos.team", team_on_call: "sos.team_on_call" }[
    n.kind
  ];
  return key ? t(key) : n.label || "";
}

async function loadMe() {
  if (!meLoading) {
    meLoading = api
      .get("/me")
      .then(({ data }) => {
        store.set("me", data);
        drawSos();
        return data;
      })
      .finally(() => {
        meLoading = null;
      });
  }
  return meLoading;
}

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {
    // Without a worker the app still runs online.
  });
}

async function resume() {
  // Draw from what the phone has at once; refresh the session and profile behind it.
  try {
    const me = await loadMe();
    app.signedIn(me);
  } catch (error) {
    if (error instanceof api.OfflineError) return;
  }
}

async function boot() {
  try {
    await initI18n();
  } catch {
    // The catalogue could not load (offline on a first visit): keys show instead of text.
  }
  registerWorker();
  drawSos();
  api.on((event) => {
    if (event.type === "signed-out") {
      store.clearPersonal();
      drawSos();
      location.hash = "#/login";
    } else {
      drawNotice();
      if (event.type === "online" && store.get("session")) resume();
    }
  });
  outbox.onChange(() => drawNotice());
  window.addEventListener("hashchange", route);
  if (store.get("session")) {
    route();
    resume();
    outbox.flush(); // what waited when the app was closed goes now, or at the next retry
    return;
  }
  if (store.get("logout_pending")) {
    // Signed out with no network: revoke the session now instead of resuming it.
    try {
      await api.logout();
      store.remove("logout_pending");
    } catch (error) {
      // Refused: the session had already ended. Offline: try again at the next start.
      if (error instanceof api.ApiError) store.remove("logout_pending");
    }
    route();
    return;
  }
  // No one signed in on this device as far as we know; the cookie may still hold a session.
  try {
    await api.refresh();
    app.signedIn(await loadMe());
  } catch {
    // not signed in
  }
  route();
}

boot();
