// Settings: change my password (POST /account/password), and where I am signed in
// (GET /account/sessions), with "end" for a lost phone (DELETE /account/sessions/{id}).

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import { formatTime, h, replace } from "../ui.js";
import { alertBox, field, problemText } from "./common.js";

export function passwordCard() {
  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: 10 });
  const again = h("input", { type: "password", name: "new_password_again", autocomplete: "new-password", required: true });
  const feedback = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, t("account.change_password"));
  return h(
    "form",
    {
      class: "card stack",
      id: "my-password",
      onsubmit: async (event) => {
        event.preventDefault();
        replace(feedback);
        if (next.value !== again.value) {
          replace(feedback, alertBox(t("account.passwords_differ")));
          return;
        }
        save.disabled = true;
        try {
          await api.post("/account/password", { current_password: current.value, new_password: next.value });
          current.value = next.value = again.value = "";
          replace(feedback, alertBox(t("account.password_changed"), "ok"));
        } catch (error) {
          const wrong = error instanceof api.ApiError && (error.problem.errors || {}).current_password;
          replace(feedback, alertBox(wrong ? t("account.wrong_password") : problemText(error)));
        } finally {
          save.disabled = false;
        }
      },
    },
    h("h2", {}, t("account.password_title")),
    field(t("account.current_password"), current),
    field(t("account.new_password"), next, t("account.new_password_hint")),
    field(t("account.new_password_again"), again),
    feedback,
    save,
  );
}

export function sessionsCard() {
  const list = h("ul", { class: "plain", id: "my-sessions" });
  const feedback = h("div", { "aria-live": "polite" });
  const load = async () => {
    try {
      const { data } = await api.get("/account/sessions");
      replace(
        list,
        data.items.map((s) =>
          h(
            "li",
            {},
            h("span", {}, s.user_agent || t("account.unknown_device"), s.current ? ` (${t("account.this_device")})` : ""),
            " · ",
            t("account.last_used"),
            " ",
            formatTime(s.last_used_at, lang),
            s.current
              ? null
              : h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    onclick: async () => {
                      try {
                        await api.request(`/account/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
                        replace(feedback, alertBox(t("account.session_ended"), "ok"));
                      } catch (error) {
                        replace(feedback, alertBox(problemText(error)));
                      }
                      load();
                    },
                  },
                  t("account.end_session"),
                ),
          ),
        ),
      );
    } catch (error) {
      replace(feedback, alertBox(problemText(error)));
    }
  };
  load();
  return h("section", { class: "card stack" }, h("h2", {}, t("account.sessions_title")), list, feedback);
}
