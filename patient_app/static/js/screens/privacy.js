// The patient decides what is passed on: consent per agency and scope, and who read what.

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import { formatTime, h, replace } from "../ui.js";
import { alertBox, emptyState, problemText } from "./common.js";

export async function consents(app) {
  app.title(t("nav.consents"));
  const message = h("div", { "aria-live": "polite" });
  const body = h("div", {});
  replace(app.main, h("p", { class: "lead" }, t("consent.lead")), message, body);
  const draw = (data) => {
    const byAgency = new Map();
    for (const c of data.consents || []) {
      if (!byAgency.has(c.agency_id)) byAgency.set(c.agency_id, { name: c.agency_name, scopes: [] });
      byAgency.get(c.agency_id).scopes.push(c);
    }
    if (!byAgency.size) {
      replace(body, emptyState(t("consent.none")));
      return;
    }
    replace(
      body,
      [...byAgency.entries()].map(([agencyId, agency]) =>
        h(
          "fieldset",
          { class: "card consent", dataset: { agency: agency.name } },
          h("legend", {}, agency.name),
          agency.scopes.map((c) => {
            const box = h("input", {
              type: "checkbox",
              role: "switch",
              name: `${agencyId}.${c.scope}`,
              checked: c.state === "granted",
              dataset: { scope: c.scope },
            });
            box.addEventListener("change", async () => {
              box.disabled = true;
              replace(message);
              try {
                const { data: fresh } = await api.request("/me/consents", {
                  method: "PUT",
                  body: { consents: [{ agency_id: agencyId, scope: c.scope, state: box.checked ? "granted" : "withdrawn" }] },
                });
                replace(message, alertBox(box.checked ? t("consent.granted_now") : t("consent.withdrawn_now"), "ok"));
                draw(fresh);
              } catch (error) {
                box.checked = !box.checked;
                box.disabled = false;
                replace(message, alertBox(problemText(error)));
              }
            });
            // A consent the programme no longer asks for gives no access; it stays listed while
            // granted, so that nothing the patient decided disappears without a word.
            const note = c.in_use === false ? h("small", { class: "hint" }, t("consent.not_in_use")) : null;
            return h("label", { class: "switch" }, box, h("span", {}, t(`scope.${c.scope}`), note));
          }),
        ),
      ),
      (data.history || []).length
        ? h(
            "section",
            { class: "card" },
            h("h2", {}, t("consent.history")),
            h(
              "ul",
              { class: "items small" },
              data.history.slice(0, 50).map((ch) =>
                h(
                  "li",
                  {},
                  formatTime(ch.changed_at, lang),
                  " · ",
                  ch.agency_name || "",
                  " · ",
                  t(`scope.${ch.scope}`),
                  ": ",
                  t(`consent.${ch.state}`),
                  ch.changed_by?.name ? ` (${ch.changed_by.kind === "patient" ? t("contact.you") : ch.changed_by.name})` : "",
                ),
              ),
            ),
          )
        : null,
    );
  };
  const { data } = await api.get("/me/consents");
  draw(data);
}

// "crisis_plan.read" → "Kriseplanen: lest".
function actionText(action) {
  const [resource, verb] = (action || "").split(".");
  const what = t(`log.res.${resource}`);
  const how = t(`log.verb.${verb}`);
  if (what.startsWith("log.")) return action || "";
  return how.startsWith("log.") ? what : `${what}: ${how}`;
}

// The right of access and portability: the whole record as a FHIR Bundle, saved as a file.
function exportCard(status) {
  const button = h("button", { type: "button", class: "secondary wide", id: "export-fhir" }, t("export.fhir_button"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { data } = await api.get("/me/export.fhir");
      const url = URL.createObjectURL(new Blob([JSON.stringify(data)], { type: "application/fhir+json" }));
      const link = h("a", { href: url, download: "muli-export.fhir.json" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      replace(status, alertBox(problemText(error)));
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { class: "card" }, h("h2", {}, t("export.fhir_title")), h("p", {}, t("export.fhir_help")), button);
}

export async function accessLog(app) {
  app.title(t("nav.access_log"));
  const listEl = h("ul", { class: "log", id: "access-log" });
  const more = h("div", {});
  const status = h("div", {});
  replace(app.main, exportCard(status), h("p", { class: "lead" }, t("log.lead")), status, listEl, more);
  let cursor = null;
  const load = async () => {
    const { data } = await api.get(`/me/access-log?limit=30${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const e of data.items || []) {
      const who = e.who?.name
        ? `${e.who.name}${e.who.agency ? ` (${e.who.agency})` : ""}`
        : e.who?.kind === "patient"
          ? t("log.patient")
          : t("log.system");
      listEl.append(
        h(
          "li",
          { class: e.emergency ? "emergency" : "" },
          h("span", { class: "meta" }, formatTime(e.at, lang)),
          " ",
          h("strong", {}, who),
          h("p", { class: "what" }, e.description || actionText(e.action)),
          e.emergency ? h("p", { class: "emergency-note" }, t("log.emergency"), e.reason ? `: ${e.reason}` : "") : null,
        ),
      );
    }
    cursor = data.next_cursor;
    replace(more, cursor ? h("button", { type: "button", class: "secondary wide", onclick: () => load().catch((err) => replace(status, alertBox(problemText(err)))) }, t("list.more")) : null);
    if (!listEl.children.length) replace(status, emptyState(t("log.empty")));
  };
  await load();
}
