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
    // A plan kept on this phone belongs to one patient: someone else signing in replaces it.
    if (store.get("crisis.owner") !== me.id) store.remove("crisis");
    store.set("crisis.owner", me.id);
    store.set("session", { id: me.id, name: me.display_name, since: new Date().toISOString() });
    outbox.keepOnly(me.id);
    outbox.flush();
  },
  redraw: () => route(),
  // After sign-in: the screen the patient was sent to sign in from, or home.
  afterSignIn: () => takeTarget(),
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
  if (!session && !PUBLIC.has(parts[0] || "") && !keptPlanRoute(parts)) {
    // A notification tapped while signed out opens its request after sign-in, not home.
    if (parts.length) rememberTarget(location.hash);
    if (location.hash !== "#/login") location.replace("#/login");
    else await show(screens.find(["login"]));
    return;
  }
  await show(screens.find(parts));
}

// Where to go once signed in (a request a notification pointed to). Only this tab's routes,
// kept for this tab only: a hash of the app, never a whole address.
const AFTER_LOGIN = "muli.after_login";

function rememberTarget(hash) {
  if (/^#\/[\w/-]{1,200}$/.test(hash)) sessionStorage.setItem(AFTER_LOGIN, hash);
}

function takeTarget() {
  const hash = sessionStorage.getItem(AFTER_LOGIN);
  sessionStorage.removeItem(AFTER_LOGIN);
  const first = (hash || "").replace(/^#\/?/, "").split("/")[0];
  return hash && !PUBLIC.has(first) ? hash : "#/";
}

// Signed out by the session's end (not on purpose): the plan kept on the phone still opens.
function keptPlanRoute(parts) {
  return parts.length === 1 && parts[0] === "crisis" && Boolean(store.get("crisis"));
}

let shown = 0;

async function show(found) {
  const mine = ++shown;
  window.scrollTo(0, 0);
  replace(main);
  drawNotice();
  try {
    await found.render(app, ...found.params);
  } catch (error) {
    // A screen that failed after another one took over (the session ended meanwhile) stays quiet.
    if (mine === shown) replace(main, h("p", { class: "error", role: "alert" }, errorText(error)));
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
    // Home has no title here: its greeting is the page's <h1> (an empty heading reads as nothing).
    title ? h("h1", { class: "title" }, title) : h("span", { class: "title" }),
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
  const kept = store.get("sos");
  const numbers = me?.emergency_numbers?.length
    ? me.emergency_numbers
    : kept?.length
      ? kept
      : [
          { number: "113", kind: "emergency" },
          { number: "116 117", kind: "emergency_gp" },
        ];
  // 113 and 116 117 lead with the number; the team's long numbers lead with who answers
  // ("Teamet", "Vakt") and show the number small below, so four fit side by side at 320 px.
  // The link's name is what it shows ("113 Nød (AMK)", "Vakt 000 00 002"): a label of its own
  // would hide the number from speech input and differ from what a sighted helper reads out.
  replace(
    sos,
    numbers.map((n) => {
      const national = n.kind === "emergency" || n.kind === "emergency_gp";
      return h(
        "a",
        { class: `sos-call sos-${n.kind || "other"}`, href: telHref(n.number) },
        national
          ? [h("span", { class: "sos-number" }, n.number), " ", h("span", { class: "sos-label" }, sosLabel(n))]
          : [h("span", { class: "sos-name" }, sosLabel(n)), " ", h("span", { class: "sos-small" }, shortNumber(n.number))],
      );
    }),
  );
  sos.setAttribute("aria-label", t("sos.label"));
}

// "+4700000002" → "000 00 002": a Norwegian number as it is said; others as given.
function shortNumber(number) {
  const digits = String(number).replace(/[^\d+]/g, "");
  const m = digits.match(/^(?:\+47)?(\d{3})(\d{2})(\d{3})$/);
  return m ? `${m[1]} ${m[2]} ${m[3]}` : String(number);
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
        store.set("sos", data.emergency_numbers || []);
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
  document.querySelector("a.skip").textContent = t("nav.skip");
  drawSos();
  api.on((event) => {
    if (event.type === "signed-out") {
      // The team ended the account: nothing stays. The session ended: the plan stays.
      if (event.accountEnded) store.clearPersonal();
      else store.endSession();
      drawSos();
      if (keptPlanRoute(parse().parts)) route();
      else {
        if (parse().parts.length && !PUBLIC.has(parse().parts[0])) rememberTarget(location.hash);
        location.hash = "#/login";
      }
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
  } catch (error) {
    // Not signed in. If the team ended the account, the kept plan goes too.
    if (api.accountEnded(error)) {
      store.clearPersonal();
      drawSos();
    }
  }
  route();
}

boot();
