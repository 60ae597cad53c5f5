// Activation with the one-time code from the team, and sign-in.

import * as api from "../api.js";
import { t } from "../i18n.js";
import * as store from "../store.js";
import { h, replace } from "../ui.js";
import { alertBox, field, problemText } from "./common.js";

async function enter(app) {
  const me = await app.loadMe();
  app.signedIn(me);
  app.navigate(app.afterSignIn());
}

// Why a sign-in through ID-porten came back refused (/app/?signin=<reason>, set by the server).
const REFUSED = {
  "not-enrolled": "login.refused_not_enrolled",
  "account-disabled": "login.refused_account_disabled",
  "acr-too-low": "login.refused_acr_too_low",
  "provider-unavailable": "login.refused_unavailable",
  "provider-refused": "login.refused_cancelled",
  busy: "login.refused_busy",
  refused: "login.refused",
};

function refusedNotice() {
  const params = new URLSearchParams(location.search);
  const reason = params.get("signin");
  if (!reason) return null;
  history.replaceState(null, "", location.pathname + location.hash); // shown once
  return h("div", { id: "signin-refused" }, alertBox(t(REFUSED[reason] || REFUSED.refused)));
}

// The ID-porten button (when the service has ID-porten on), and after a logout the way to
// end the ID-porten session too.
async function idportenChoice(slot) {
  const options = await api.signInOptions();
  if (!options.idporten) return;
  const parts = [
    h("a", { href: options.idporten, class: "button big primary", id: "idporten-login" }, t("login.idporten")),
    h("p", { class: "hint" }, t("login.idporten_hint")),
  ];
  if (options.idporten_logout && sessionStorage.getItem("muli.signed_out")) {
    sessionStorage.removeItem("muli.signed_out");
    parts.push(h("p", {}, h("a", { href: options.idporten_logout, id: "idporten-logout" }, t("login.idporten_logout"))));
  }
  parts.push(h("p", { class: "lead" }, t("login.or_password")));
  replace(slot, ...parts);
}

export function login(app) {
  app.title(t("login.title"));
  const choice = h("div", { id: "sign-in-choice" });
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, t("login.submit"));
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        replace(message);
        try {
          await api.login(username.value.trim(), password.value);
          await enter(app);
        } catch (error) {
          const text =
            error instanceof api.ApiError && error.status === 401
              ? t("login.wrong")
              : error instanceof api.ApiError && error.status === 429
                ? t("login.wait", { n: error.retryAfter ?? 60 })
                : problemText(error);
          replace(message, alertBox(text));
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t("login.username"), username),
    field(t("login.password"), password),
    message,
    submit,
  );
  // The session ended by itself: the plan the patient last saw is still on the phone.
  const kept = store.get("crisis")
    ? h("a", { href: "#/crisis", class: "button big kept-plan", id: "open-kept-plan" }, t("login.open_kept_plan"))
    : null;
  replace(
    app.main,
    refusedNotice(),
    kept,
    choice,
    h("p", { class: "lead" }, t("login.lead")),
    form,
    h("p", {}, h("a", { href: "#/activate", class: "link-button" }, t("login.have_code"))),
  );
  idportenChoice(choice);
}

export function activate(app) {
  app.title(t("activate.title"));
  const code = h("input", { name: "activation_code", autocomplete: "one-time-code", required: true, autocapitalize: "characters" });
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", pattern: "[A-Za-z0-9._@-]{3,150}" });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: "10" });
  const repeat = h("input", { name: "repeat", type: "password", autocomplete: "new-password", required: true });
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, t("activate.submit"));
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        replace(message);
        if (password.value !== repeat.value) {
          replace(message, alertBox(t("activate.mismatch")));
          return;
        }
        submit.disabled = true;
        try {
          await api.activate(code.value.trim(), username.value.trim(), password.value);
          await api.login(username.value.trim(), password.value);
          await enter(app);
        } catch (error) {
          const text =
            error instanceof api.ApiError && error.code === "activation-code-invalid"
              ? t("activate.bad_code")
              : error instanceof api.ApiError && error.code === "username-taken"
                ? t("activate.taken")
                : problemText(error);
          replace(message, alertBox(text));
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t("activate.code"), code, t("activate.code_hint")),
    field(t("login.username"), username, t("activate.username_hint")),
    field(t("activate.password"), password, t("activate.password_hint")),
    field(t("activate.repeat"), repeat),
    message,
    submit,
  );
  replace(
    app.main,
    h("p", { class: "lead" }, t("activate.lead")),
    form,
    h("p", {}, h("a", { href: "#/login", class: "link-button" }, t("activate.have_account"))),
  );
}
