// The crisis plan: read first (from the phone at once, refreshed from the API), edit second
// (If-Match), and the team's proposals to approve or turn down.

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import * as store from "../store.js";
import { formatDate, formatTime, h, replace, telHref } from "../ui.js";
import { alertBox, cachedDoc, emptyState, field, problemText, savedNote } from "./common.js";

const PAIRS = {
  warning_signs: ["sign", "action"],
  people_to_ask: ["name", "phone"],
  professionals: ["service", "phone", "when_reachable"],
};
const LIST_ORDER = [
  "warning_signs",
  "coping_strategies",
  "people_to_ask",
  "distractions",
  "professionals",
  "safe_environment",
  "reasons_to_live",
];
const TEXTS = ["how_i_want_to_be_met", "what_helps", "what_does_not_help", "treatment_preferences"];
export const SECTIONS = [...LIST_ORDER, ...TEXTS];

// The patient's programme, when it changes MULI's sections (MULI vold...): every section in
// its order with its titles (`sections_meta` of the plan). MULI's plan has none.
let programmeSections = null;

function blank(value) {
  return !value || (Array.isArray(value) && value.length === 0);
}

function isEmpty(plan) {
  return SECTIONS.every((name) => blank(plan[name])) && Object.values(plan.extra || {}).every(blank);
}

function titleOf(meta) {
  return meta.title?.[lang] || meta.title?.en || meta.key;
}

// Another programme's plan: its sections in its order, with its titles; the four "to every
// service that meets me" together where the first of them comes; what it hides not shown.
function drawProgrammePlan(plan, meta) {
  const parts = [];
  const extra = plan.extra || {};
  let services = null;
  for (const s of meta) {
    if (s.hidden || s.kind === "numbers") continue;
    const value = s.in_extra ? extra[s.key] : plan[s.key];
    if (blank(value)) continue;
    if (TEXTS.includes(s.key)) {
      if (!services) {
        services = h("section", { class: "card plan-services" }, h("h2", {}, t("crisis.to_services")));
        parts.push(services);
      }
      services.append(h("h3", {}, titleOf(s)), h("p", { class: "prose" }, value));
    } else if (s.kind === "text") {
      parts.push(h("section", { class: `card plan-${s.key}` }, h("h2", {}, titleOf(s)), h("p", { class: "prose" }, value)));
    } else {
      parts.push(
        h(
          "section",
          { class: `card plan-${s.key}` },
          h("h2", {}, titleOf(s)),
          h("ul", { class: "items" }, value.map((item) => h("li", {}, drawItem(s.key, item)))),
        ),
      );
    }
  }
  if (plan.emergency_numbers?.length) parts.push(numbersCard(plan.emergency_numbers));
  return parts;
}

function textOf(item, key) {
  return typeof item === "string" ? (key === "sign" || key === "name" || key === "service" ? item : "") : item?.[key] || "";
}

let drawn = 0; // ids for the "who" of each call link, unique however often a plan is drawn

function drawItem(name, item) {
  if (typeof item === "string") return item;
  if (name === "warning_signs") {
    return [h("span", {}, item.sign || ""), item.action ? h("span", { class: "then" }, " → ", item.action) : null];
  }
  if (name === "people_to_ask" || name === "professionals") {
    const who = item.name || item.service || "";
    const whoId = `who-${++drawn}`;
    return [
      h("span", { class: "who", id: whoId }, who),
      item.when_reachable ? h("span", { class: "hint" }, ` (${item.when_reachable})`) : null,
      item.phone
        ? // Named by what it shows (the word for call, then the number), described by whom it rings: a name
          // of its own would hide the number from speech input and from a helper reading along.
          h("a", { class: "call", href: telHref(item.phone), "aria-describedby": whoId }, t("crisis.call_short"), " ", item.phone)
        : null,
    ];
  }
  return Object.values(item).filter(Boolean).join(" – ");
}

export function drawPlan(plan) {
  if (plan.sections_meta) programmeSections = plan.sections_meta;
  const meta = plan.sections_meta || (plan.extra ? programmeSections : null);
  if (meta) return drawProgrammePlan(plan, meta);
  const parts = [];
  for (const name of LIST_ORDER) {
    const items = plan[name] || [];
    if (!items.length) continue;
    parts.push(
      h(
        "section",
        { class: `card plan-${name}` },
        h("h2", {}, t(`crisis.${name}`)),
        h("ul", { class: "items" }, items.map((item) => h("li", {}, drawItem(name, item)))),
      ),
    );
  }
  const texts = TEXTS.filter((name) => plan[name]);
  if (texts.length) {
    parts.push(
      h(
        "section",
        { class: "card plan-services" },
        h("h2", {}, t("crisis.to_services")),
        texts.map((name) => [h("h3", {}, t(`crisis.${name}`)), h("p", { class: "prose" }, plan[name])]),
      ),
    );
  }
  if (plan.emergency_numbers?.length) parts.push(numbersCard(plan.emergency_numbers));
  return parts;
}

export function numbersCard(numbers) {
  return h(
    "section",
    { class: "card numbers" },
    h("h2", {}, t("sos.title")),
    h(
      "ul",
      { class: "items" },
      numbers.map((n) => h("li", {}, h("a", { class: "call", href: telHref(n.number) }, n.number), " ", numberLabel(n))),
    ),
  );
}

// 113 and 116 117 are named in the app's language; the team's numbers carry the team's name.
function numberLabel(n) {
  if (n.kind === "emergency") return t("numbers.emergency");
  if (n.kind === "emergency_gp") return t("numbers.emergency_gp");
  return n.label || "";
}

// Not signed in (the session ended, the patient did not sign out): the plan as last seen, from
// the phone only, with a way to sign in. Nothing here calls the API.
function keptCrisis(app) {
  app.title(t("tile.crisis"));
  const kept = store.get("crisis");
  replace(
    app.main,
    h(
      "div",
      { class: "saved-note kept-note", role: "status", id: "kept-plan-note" },
      h("p", {}, t("crisis.kept_signed_out", { when: formatTime(kept.saved_at, lang) })),
      h("a", { href: "#/login", class: "button primary" }, t("crisis.kept_sign_in")),
    ),
    h("div", { id: "crisis-plan" }, isEmpty(kept.body || {}) ? emptyState(t("crisis.empty")) : drawPlan(kept.body)),
  );
}

export async function crisis(app) {
  if (!store.get("session")) {
    keptCrisis(app);
    return;
  }
  app.title(t("tile.crisis"));
  const proposals = h("div", { id: "proposals" });
  const body = h("div", { id: "crisis-plan" });
  // Shown with the plan, not before it: drawn above an empty plan, the buttons jumped down
  // when it came (Lighthouse: a layout shift of 0.13 on a phone).
  const actions = h(
    "div",
    { class: "actions", hidden: true },
    h("a", { href: "#/crisis/edit", class: "button secondary" }, t("crisis.edit")),
    h("a", { href: "#/crisis/versions", class: "button secondary" }, t("crisis.versions")),
  );
  replace(app.main, proposals, body, actions);
  await cachedDoc("crisis", "/me/crisis-plan", (plan, meta) => {
    actions.hidden = false;
    const meta_ = [];
    if (plan.updated_at) {
      const by = plan.written_by?.kind === "staff" ? `${plan.written_by.name} (${plan.written_by.agency})` : t("crisis.by_you");
      meta_.push(h("p", { class: "meta" }, t("crisis.updated", { when: formatDate(plan.updated_at, lang), by })));
    }
    if (plan.last_reviewed_with_team_on) {
      meta_.push(h("p", { class: "meta" }, t("crisis.reviewed", { when: formatDate(plan.last_reviewed_with_team_on, lang) })));
    }
    replace(
      body,
      savedNote(meta),
      isEmpty(plan) ? emptyState(t("crisis.empty")) : drawPlan(plan),
      meta_,
    );
  });
  showProposals(proposals).catch(() => {});
}

async function pending() {
  const { data } = await api.get("/me/crisis-plan/versions?limit=20");
  const dismissed = new Set(store.get("crisis.dismissed", []));
  return (data.items || []).filter((v) => v.status === "proposed" && !dismissed.has(v.version));
}

async function showProposals(el) {
  const waiting = await pending();
  if (!waiting.length) return;
  const v = waiting[0];
  replace(
    el,
    h(
      "a",
      { class: "banner", href: "#/crisis/versions" },
      h("strong", {}, t("crisis.proposal_banner")),
      " ",
      t("crisis.proposal_from", { name: v.written_by?.name || "", agency: v.written_by?.agency || "" }),
    ),
  );
}

export async function crisisVersions(app) {
  app.title(t("crisis.versions"));
  const message = h("div", { "aria-live": "polite" });
  const listEl = h("div", {});
  replace(app.main, message, listEl);
  const { data } = await api.get("/me/crisis-plan/versions?limit=50");
  const dismissed = new Set(store.get("crisis.dismissed", []));
  const items = data.items || [];
  if (!items.length) {
    replace(listEl, emptyState(t("crisis.no_versions")));
    return;
  }
  // A proposal's changes are named by the programme's titles (MULI vold...): they come with the plan.
  if (items.some((v) => v.status === "proposed" && !dismissed.has(v.version))) {
    try {
      const answer = await api.get("/me/crisis-plan");
      store.keepDoc("crisis", answer.data, answer.etag);
      programmeSections = answer.data.sections_meta || null;
    } catch {
      // Offline or refused: the app's own titles, as for MULI.
    }
  }
  replace(
    listEl,
    items.map((v) => {
      const by = v.written_by?.kind === "staff" ? `${v.written_by.name} (${v.written_by.agency})` : t("crisis.by_you");
      const head = h(
        "p",
        { class: "meta" },
        h("strong", {}, t("crisis.version", { n: v.version })),
        " · ",
        formatTime(v.written_at, lang),
        " · ",
        by,
        " · ",
        t(`crisis.status_${v.status}`),
      );
      if (v.status !== "proposed" || dismissed.has(v.version)) {
        return h("section", { class: "card version" }, head);
      }
      const approve = h("button", { class: "primary", type: "button" }, t("crisis.approve"));
      const reject = h("button", { class: "secondary", type: "button" }, t("crisis.reject"));
      approve.addEventListener("click", async () => {
        approve.disabled = true;
        try {
          const answer = await api.post(`/me/crisis-plan/versions/${v.version}/approve`);
          store.keepDoc("crisis", answer.data, answer.etag);
          app.navigate("#/crisis");
        } catch (error) {
          replace(message, alertBox(problemText(error)));
          approve.disabled = false;
        }
      });
      reject.addEventListener("click", async () => {
        // Declined on the server: the team sees it, and no other device asks again.
        reject.disabled = true;
        try {
          await api.post(`/me/crisis-plan/versions/${v.version}/decline`);
          app.redraw();
        } catch (error) {
          replace(message, alertBox(error instanceof api.OfflineError ? t("crisis.edit_offline") : problemText(error)));
          reject.disabled = false;
        }
      });
      return h(
        "section",
        { class: "card version proposed" },
        head,
        h("p", {}, t("crisis.proposal_explain")),
        drawChanges(v.changes),
        h(
          "details",
          { class: "whole-proposal" },
          h("summary", {}, t("crisis.whole_proposal")),
          h("div", { class: "proposal" }, drawPlan(v.sections || {})),
        ),
        h("p", { class: "hint" }, t("crisis.reject_explain")),
        h("div", { class: "actions" }, approve, reject),
      );
    }),
  );
}

// --- what a proposal changes ----------------------------------------------------------------

// One list item as a line of text (the diff shows words, not the call buttons of the plan).
function itemText(name, item) {
  if (typeof item === "string") return item;
  if (!item) return "";
  if (name === "warning_signs") return item.action ? `${item.sign || ""} → ${item.action}` : item.sign || "";
  return Object.values(item).filter(Boolean).join(" · ");
}

function changeLine(kind, ...content) {
  return h("li", { class: `change ${kind}` }, h("span", { class: "change-word" }, t(`crisis.change_${kind}`)), " ", ...content);
}

// Now and proposed, each named in words (the old text struck through as a second cue).
function beforeAfter(before, after) {
  return h(
    "dl",
    { class: "before-after" },
    h("dt", {}, t("crisis.change_before")),
    h("dd", { class: "before" }, before || t("crisis.change_empty")),
    h("dt", {}, t("crisis.change_after")),
    h("dd", { class: "after" }, after || t("crisis.change_empty")),
  );
}

// A section's title: the programme's (MULI vold...), or MULI's from the app's catalogue.
function sectionTitle(name) {
  const meta = programmeSections?.find((s) => s.key === name);
  return meta ? titleOf(meta) : t(`crisis.${name}`);
}

function drawSectionChange(section) {
  const name = section.section;
  const title = h("h3", {}, sectionTitle(name));
  if (section.kind === "text") {
    return h(
      "div",
      { class: "section-change", "data-section": name },
      title,
      beforeAfter(section.before, section.after),
    );
  }
  const lines = [
    ...(section.added || []).map((item) => changeLine("added", h("span", { class: "item" }, itemText(name, item)))),
    ...(section.removed || []).map((item) => changeLine("removed", h("span", { class: "item" }, itemText(name, item)))),
    ...(section.changed || []).map((c) =>
      changeLine("changed", beforeAfter(itemText(name, c.before), itemText(name, c.after))),
    ),
  ];
  if (section.reordered) lines.push(h("li", { class: "change reordered" }, t("crisis.change_reordered")));
  return h("div", { class: "section-change", "data-section": name }, title, h("ul", { class: "changes" }, lines));
}

// Section by section: what approving would change; the sections it leaves alone folded away.
export function drawChanges(changes) {
  if (!changes) return null;
  const sections = changes.sections || [];
  // What the programme hides is not shown, changed or not (its content is kept).
  const hidden = new Set((programmeSections || []).filter((s) => s.hidden).map((s) => s.key));
  const shown = sections.filter((s) => !hidden.has(s.section));
  const changed = shown.filter((s) => s.status === "changed");
  const same = shown.filter((s) => s.status !== "changed");
  return h(
    "div",
    { class: "plan-changes" },
    h("h2", {}, t("crisis.changes_title")),
    changed.length ? changed.map(drawSectionChange) : h("p", {}, t("crisis.no_changes")),
    same.length
      ? h(
          "details",
          { class: "unchanged" },
          h("summary", {}, t("crisis.unchanged", { n: same.length })),
          h("ul", {}, same.map((s) => h("li", {}, sectionTitle(s.section)))),
        )
      : null,
  );
}

// --- editing ---------------------------------------------------------------------------

function rowsEditor(name, items, title = t(`crisis.${name}`)) {
  const keys = PAIRS[name];
  const rows = h("div", { class: "rows" });
  const addRow = (item = {}) => {
    const inputs = keys.map((key) =>
      h("input", {
        name: `${name}.${key}`,
        value: textOf(item, key),
        placeholder: t(`crisis.${name}.${key}`),
        "aria-label": t(`crisis.${name}.${key}`),
        type: key === "phone" ? "tel" : "text",
      }),
    );
    const remove = h("button", { type: "button", class: "remove", "aria-label": t("form.remove") }, "×");
    const row = h("div", { class: "row" }, inputs, remove);
    remove.addEventListener("click", () => row.remove());
    rows.append(row);
  };
  for (const item of items || []) addRow(item);
  if (!(items || []).length) addRow();
  const add = h("button", { type: "button", class: "add" }, "+ ", t("form.add"));
  add.addEventListener("click", () => addRow());
  const read = () =>
    [...rows.querySelectorAll(".row")]
      .map((row) => Object.fromEntries(keys.map((key, i) => [key, row.querySelectorAll("input")[i].value.trim() || null])))
      .filter((item) => Object.values(item).some(Boolean));
  return { el: h("fieldset", { class: "card" }, h("legend", {}, title), rows, add), read };
}

function linesEditor(name, items, title = t(`crisis.${name}`)) {
  const area = h("textarea", { name, rows: "4" });
  area.value = (items || []).map((i) => (typeof i === "string" ? i : Object.values(i).filter(Boolean).join(" – "))).join("\n");
  return {
    el: h("div", { class: "card" }, field(title, area, t("form.one_per_line"))),
    read: () => area.value.split("\n").map((l) => l.trim()).filter(Boolean),
  };
}

function textEditor(name, value, title = t(`crisis.${name}`)) {
  const area = h("textarea", { name, rows: "3" });
  area.value = value || "";
  return { el: h("div", { class: "card" }, field(title, area)), read: () => area.value.trim() || null };
}

export async function crisisEdit(app) {
  app.title(t("crisis.edit"));
  let plan;
  let etag;
  try {
    const answer = await api.get("/me/crisis-plan");
    plan = answer.data;
    etag = answer.etag;
    store.keepDoc("crisis", plan, etag);
  } catch (error) {
    replace(app.main, alertBox(error instanceof api.OfflineError ? t("crisis.edit_offline") : problemText(error)));
    return;
  }
  const editors = {};
  const extraEditors = {};
  // What the programme hides is sent back as it is (kept, not emptied).
  const kept = {};
  if (plan.sections_meta) {
    programmeSections = plan.sections_meta;
    for (const s of plan.sections_meta) {
      if (s.kind === "numbers") continue;
      if (s.in_extra) {
        const value = (plan.extra || {})[s.key];
        if (s.hidden) kept[s.key] = value;
        else extraEditors[s.key] = s.kind === "text" ? textEditor(s.key, value, titleOf(s)) : linesEditor(s.key, value, titleOf(s));
      } else if (s.hidden) {
        kept[s.key] = plan[s.key];
      } else {
        editors[s.key] = TEXTS.includes(s.key)
          ? textEditor(s.key, plan[s.key], titleOf(s))
          : PAIRS[s.key]
            ? rowsEditor(s.key, plan[s.key], titleOf(s))
            : linesEditor(s.key, plan[s.key], titleOf(s));
      }
    }
  } else {
    programmeSections = null;
    for (const name of LIST_ORDER) editors[name] = PAIRS[name] ? rowsEditor(name, plan[name]) : linesEditor(name, plan[name]);
    for (const name of TEXTS) editors[name] = textEditor(name, plan[name]);
  }
  const hiddenExtra = Object.fromEntries(
    Object.entries(kept).filter(([key]) => (plan.sections_meta || []).some((s) => s.key === key && s.in_extra)),
  );
  const hiddenOwn = Object.fromEntries(Object.entries(kept).filter(([key]) => !(key in hiddenExtra)));
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, t("form.save"));
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        save.disabled = true;
        replace(message);
        const document_ = {
          ...hiddenOwn,
          ...Object.fromEntries(Object.entries(editors).map(([name, ed]) => [name, ed.read()])),
        };
        if (plan.sections_meta && plan.extra) {
          document_.extra = {
            ...hiddenExtra,
            ...Object.fromEntries(Object.entries(extraEditors).map(([name, ed]) => [name, ed.read()])),
          };
        }
        try {
          const answer = await api.request("/me/crisis-plan", { method: "PUT", body: document_, headers: { "If-Match": etag } });
          store.keepDoc("crisis", answer.data, answer.etag);
          app.navigate("#/crisis");
        } catch (error) {
          const text =
            error instanceof api.ApiError && error.status === 412
              ? t("crisis.changed_elsewhere")
              : error instanceof api.OfflineError
                ? t("crisis.edit_offline")
                : problemText(error);
          replace(message, alertBox(text));
        } finally {
          save.disabled = false;
        }
      },
    },
    h("p", { class: "lead" }, t("crisis.edit_lead")),
    plan.sections_meta
      ? plan.sections_meta.filter((s) => editors[s.key] || extraEditors[s.key]).map((s) => (editors[s.key] || extraEditors[s.key]).el)
      : Object.values(editors).map((ed) => ed.el),
    message,
    h("div", { class: "actions sticky" }, save, h("a", { href: "#/crisis", class: "button secondary" }, t("form.cancel"))),
  );
  replace(app.main, form);
}
