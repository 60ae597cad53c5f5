// "Når du vil prøve selv": the strategies and goals, and "I tried this — it helped 0–4".

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import * as store from "../store.js";
import { formatDate, h, replace } from "../ui.js";
import { alertBox, cachedDoc, emptyState, field, problemText, savedNote } from "./common.js";

function strategyCard(app, s, online) {
  const stats =
    s.times_tried > 0
      ? t("mastery.stats", { n: s.times_tried, avg: String(s.average_helped ?? "").replace(".", lang === "nb" ? "," : ".") })
      : t("mastery.not_tried");
  const tried = h("div", { class: "tried", hidden: true });
  const open = h("button", { type: "button", class: "secondary", disabled: !online }, t("mastery.tried"));
  const note = h("input", { name: "note", maxlength: "500", "aria-label": t("mastery.note") });
  const feedback = h("div", { "aria-live": "polite" });
  const helped = h(
    "div",
    { class: "scale", role: "group", "aria-label": t("mastery.helped_q") },
    [0, 1, 2, 3, 4].map((n) =>
      h(
        "button",
        {
          type: "button",
          class: "scale-step",
          dataset: { helped: String(n) },
          "aria-label": `${n}: ${t(`mastery.helped_${n}`)}`,
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              await api.post(`/me/mastery-plan/strategies/${s.id}/uses`, note.value.trim() ? { helped: n, note: note.value.trim() } : { helped: n });
              replace(feedback, alertBox(t("mastery.thanks"), "ok"));
              setTimeout(() => app.redraw(), 900);
            } catch (error) {
              event.currentTarget.disabled = false;
              replace(feedback, alertBox(problemText(error)));
            }
          },
        },
        String(n),
      ),
    ),
  );
  replace(
    tried,
    h("p", {}, t("mastery.helped_q")),
    helped,
    h("p", { class: "scale-ends" }, h("span", {}, t("mastery.helped_0")), h("span", {}, t("mastery.helped_4"))),
    field(t("mastery.note"), note),
    feedback,
  );
  open.addEventListener("click", () => {
    tried.hidden = !tried.hidden;
  });
  return h(
    "section",
    { class: "card strategy", dataset: { id: s.id } },
    h("h2", {}, s.title),
    s.description ? h("p", {}, s.description) : null,
    h("p", { class: "meta" }, stats),
    open,
    tried,
  );
}

// The patient's programme, when it renames, reorders or hides the plan's two sections (MULI
// vold...): `sections_meta` of the plan. MULI's plan has none, and shows as it always has.
function sectionsOf(plan) {
  return plan.sections_meta ? plan.sections_meta.filter((s) => !s.hidden).map((s) => s.key) : null;
}

function sectionTitle(plan, key) {
  const meta = (plan.sections_meta || []).find((s) => s.key === key);
  return meta ? meta.title?.[lang] || meta.title?.en || key : t(`mastery.${key}`);
}

export async function mastery(app) {
  app.title(t("tile.mastery"));
  const body = h("div", {});
  replace(app.main, body, h("div", { class: "actions" }, h("a", { href: "#/mastery/edit", class: "button secondary" }, t("mastery.edit"))));
  await cachedDoc("mastery", "/me/mastery-plan", (plan, meta) => {
    const strategies = plan.strategies || [];
    const goals = plan.goals || [];
    const order = sectionsOf(plan);
    if (order) {
      // Another programme's plan: its sections in its order, under its titles.
      const parts = {
        strategies: () =>
          h(
            "section",
            { class: "mastery-strategies stack" },
            h("h2", {}, sectionTitle(plan, "strategies")),
            strategies.length ? strategies.map((s) => strategyCard(app, s, meta.fresh)) : emptyState(t("mastery.empty")),
          ),
        goals: () =>
          goals.length
            ? h(
                "section",
                { class: "card mastery-goals" },
                h("h2", {}, sectionTitle(plan, "goals")),
                h("ul", { class: "items" }, goals.map((g) => h("li", { class: g.achieved ? "achieved" : "" }, g.achieved ? "✓ " : "", g.title, g.target_date ? h("span", { class: "meta" }, ` (${formatDate(g.target_date, lang)})`) : null))),
              )
            : null,
      };
      replace(body, savedNote(meta), order.map((key) => parts[key]()));
      return;
    }
    replace(
      body,
      savedNote(meta),
      strategies.length ? strategies.map((s) => strategyCard(app, s, meta.fresh)) : emptyState(t("mastery.empty")),
      goals.length
        ? h(
            "section",
            { class: "card" },
            h("h2", {}, t("mastery.goals")),
            h(
              "ul",
              { class: "items" },
              goals.map((g) =>
                h("li", { class: g.achieved ? "achieved" : "" }, g.achieved ? "✓ " : "", g.title, g.target_date ? h("span", { class: "meta" }, ` (${formatDate(g.target_date, lang)})`) : null),
              ),
            ),
          )
        : null,
    );
  });
}

function itemsEditor(name, items, fields, title = t(`mastery.${name}`)) {
  const rows = h("div", { class: "rows" });
  const addRow = (item = {}) => {
    const title = h("input", { name: `${name}.title`, value: item.title || "", placeholder: t("mastery.title"), "aria-label": t("mastery.title") });
    const description = h("input", { name: `${name}.description`, value: item.description || "", placeholder: t("mastery.description"), "aria-label": t("mastery.description") });
    const achieved = fields.includes("achieved") ? h("input", { type: "checkbox", checked: Boolean(item.achieved), "aria-label": t("mastery.achieved") }) : null;
    const remove = h("button", { type: "button", class: "remove", "aria-label": t("form.remove") }, "×");
    const row = h("div", { class: "row", dataset: { id: item.id || "" } }, title, description, achieved ? h("label", { class: "inline" }, achieved, " ", t("mastery.achieved")) : null, remove);
    row.read = () => {
      const out = { title: title.value.trim(), description: description.value.trim() || null };
      if (item.id) out.id = item.id;
      if (item.category) out.category = item.category;
      if (achieved) {
        out.achieved = achieved.checked;
        if (item.target_date) out.target_date = item.target_date;
      }
      return out;
    };
    remove.addEventListener("click", () => row.remove());
    rows.append(row);
  };
  for (const item of items || []) addRow(item);
  const add = h("button", { type: "button", class: "add" }, "+ ", t("form.add"));
  add.addEventListener("click", () => addRow());
  return {
    el: h("fieldset", { class: "card" }, h("legend", {}, title), rows, add),
    read: () => [...rows.children].map((row) => row.read()).filter((item) => item.title),
  };
}

export async function masteryEdit(app) {
  app.title(t("mastery.edit"));
  let answer;
  try {
    answer = await api.get("/me/mastery-plan");
    store.keepDoc("mastery", answer.data, answer.etag);
  } catch (error) {
    replace(app.main, alertBox(error instanceof api.OfflineError ? t("crisis.edit_offline") : problemText(error)));
    return;
  }
  const plan = answer.data;
  const strategies = itemsEditor("strategies", plan.strategies, ["title", "description"], sectionTitle(plan, "strategies"));
  const goals = itemsEditor("goals", plan.goals, ["title", "description", "achieved"], sectionTitle(plan, "goals"));
  // The programme's order; a section it hides is not shown, and saved back as it was.
  const shown = (sectionsOf(plan) || ["strategies", "goals"]).map((key) => ({ strategies, goals })[key].el);
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, t("form.save"));
  replace(
    app.main,
    h(
      "form",
      {
        class: "stack",
        onsubmit: async (event) => {
          event.preventDefault();
          save.disabled = true;
          try {
            const saved = await api.request("/me/mastery-plan", {
              method: "PUT",
              body: { strategies: strategies.read(), goals: goals.read() },
              headers: { "If-Match": answer.etag },
            });
            store.keepDoc("mastery", saved.data, saved.etag);
            app.navigate("#/mastery");
          } catch (error) {
            replace(message, alertBox(error instanceof api.ApiError && error.status === 412 ? t("crisis.changed_elsewhere") : problemText(error)));
          } finally {
            save.disabled = false;
          }
        },
      },
      shown,
      message,
      h("div", { class: "actions sticky" }, save, h("a", { href: "#/mastery", class: "button secondary" }, t("form.cancel"))),
    ),
  );
}
