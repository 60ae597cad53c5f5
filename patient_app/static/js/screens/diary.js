// "Når du trenger å skrive": the diary. Private unless the patient shares an entry; entries
// written with no network wait in the outbox and are sent once.

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import { formatTime, h, replace } from "../ui.js";
import { alertBox, emptyState, field, problemText } from "./common.js";

function moodLabel(mood) {
  return mood === null || mood === undefined ? "" : t("diary.mood_value", { n: mood });
}

function entryLine(e, href) {
  const bits = [moodLabel(e.mood), e.sleep_hours != null ? t("diary.sleep_value", { n: e.sleep_hours }) : "", e.shared_with_team ? t("diary.shared") : t("diary.private")].filter(Boolean);
  const text = e.text.length > 140 ? `${e.text.slice(0, 140)}…` : e.text;
  const inner = [h("span", { class: "meta" }, formatTime(e.created_at, lang), " · ", bits.join(" · ")), h("p", {}, text)];
  return href ? h("a", { href, class: "entry" }, inner) : h("div", { class: "entry" }, inner);
}

export async function diary(app) {
  app.title(t("tile.diary"));
  const waiting = h("div", { id: "diary-waiting" });
  const listEl = h("ul", { class: "entries", id: "diary-list" });
  const more = h("div", {});
  const status = h("div", { "aria-live": "polite" });
  replace(app.main, h("a", { href: "#/diary/new", class: "button primary wide", id: "diary-new" }, t("diary.new")), waiting, status, listEl, more);

  const drawWaiting = () => {
    const items = outbox.items("diary");
    replace(
      waiting,
      items.length
        ? h(
            "section",
            { class: "card waiting", role: "status" },
            h("h2", {}, t("diary.waiting_title")),
            h("ul", { class: "entries" }, items.map((i) => h("li", {}, entryLine({ ...i.body, created_at: i.created_at }), i.error ? h("p", { class: "error" }, i.error) : null))),
          )
        : null,
    );
  };
  drawWaiting();
  let cursor = null;
  const load = async () => {
    const { data } = await api.get(`/me/diary?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const e of data.items || []) listEl.append(h("li", {}, entryLine(e, `#/diary/${e.id}`)));
    cursor = data.next_cursor;
    replace(
      more,
      cursor
        ? h("button", { type: "button", class: "secondary wide", onclick: () => load().catch((err) => replace(status, alertBox(problemText(err)))) }, t("list.more"))
        : null,
    );
    if (!listEl.children.length && !outbox.items("diary").length) replace(status, emptyState(t("diary.empty")));
  };
  app.onLeave(
    outbox.onChange(() => {
      drawWaiting();
    }),
  );
  app.onLeave(
    outbox.onSent((item) => {
      if (item.kind === "diary") app.redraw();
    }),
  );
  try {
    await load();
  } catch (error) {
    replace(status, alertBox(error instanceof api.OfflineError ? t("diary.offline") : problemText(error), "info"));
  }
}

// A slider that is unset until the patient touches it. A range input always has a value, but
// where its thumb rests is not an answer: until it is dragged, tapped or moved with the keys it
// shows "ikke satt", is sent as null, and a button clears it again.
function optionalSlider({ name, label, hint, clearLabel, min, max, step, rest, value }) {
  const id = `diary-${name}`;
  const input = h("input", { type: "range", id, name, min, max, step, "aria-describedby": `${id}-hint` });
  const shown = h("output", { for: id, class: "value", "aria-hidden": "true" });
  const clear = h("button", { type: "button", class: "secondary clear" }, clearLabel);
  let isSet = false;
  const show = (set) => {
    isSet = set;
    shown.textContent = set ? input.value : t("diary.unset");
    if (set) input.removeAttribute("aria-valuetext");
    else input.setAttribute("aria-valuetext", t("diary.unset"));
    input.classList.toggle("unset", !set);
    clear.hidden = !set;
  };
  input.value = String(value ?? rest);
  input.addEventListener("input", () => show(true));
  input.addEventListener("click", () => show(true)); // a tap on the thumb where it rests
  clear.addEventListener("click", () => {
    input.value = String(rest);
    show(false);
    input.focus();
  });
  show(value !== null && value !== undefined);
  const el = h(
    "div",
    { class: "card slider" },
    h("div", { class: "slider-head" }, h("label", { for: id }, label), shown),
    h("div", { class: "range" }, h("span", { "aria-hidden": "true" }, min), input, h("span", { "aria-hidden": "true" }, max)),
    h("div", { class: "slider-foot" }, h("p", { class: "hint", id: `${id}-hint` }, hint), clear),
  );
  return { el, value: () => (isSet ? Number(input.value) : null) };
}

function entryForm(app, entry, onSave) {
  const text = h("textarea", { name: "text", rows: "8", required: true, maxlength: "20000" });
  text.value = entry?.text || "";
  const mood = optionalSlider({
    name: "mood",
    label: t("diary.mood"),
    hint: t("diary.mood_hint"),
    clearLabel: t("diary.clear_mood"),
    min: "0",
    max: "10",
    step: "1",
    rest: 5,
    value: entry?.mood,
  });
  const sleep = optionalSlider({
    name: "sleep_hours",
    label: t("diary.sleep"),
    hint: t("diary.sleep_hint"),
    clearLabel: t("diary.clear_sleep"),
    min: "0",
    max: "14",
    step: "0.5",
    rest: 7,
    value: entry?.sleep_hours,
  });
  const share = h("input", { type: "checkbox", name: "shared_with_team", role: "switch", checked: Boolean(entry?.shared_with_team) });
  const message = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, t("form.save"));
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        if (!text.value.trim()) {
          replace(message, alertBox(t("diary.write_something")));
          return;
        }
        save.disabled = true;
        const body = {
          text: text.value.trim(),
          mood: mood.value(),
          sleep_hours: sleep.value(),
          shared_with_team: share.checked,
        };
        try {
          await onSave(body, message);
        } finally {
          save.disabled = false;
        }
      },
    },
    field(t("diary.text"), text),
    mood.el,
    sleep.el,
    h("label", { class: "switch card" }, share, h("span", {}, t("diary.share"), h("small", { class: "hint" }, t("diary.share_hint")))),
    message,
    // Not sticky: a bar over the form covered the share switch; the patient passes the switch
    // on the way to "Lagre".
    h("div", { class: "actions" }, save, h("a", { href: "#/diary", class: "button secondary" }, t("form.cancel"))),
  );
  return form;
}

export function diaryNew(app) {
  app.title(t("diary.new"));
  replace(
    app.main,
    entryForm(app, null, async (body, message) => {
      const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
      const result = await outbox.add("diary", "/me/diary", clean);
      if (result.error) {
        outbox.discard(result.item.key);
        replace(message, alertBox(result.error));
        return;
      }
      app.navigate("#/diary");
    }),
  );
}

export async function diaryEntry(app, id) {
  app.title(t("tile.diary"));
  const { data: entry } = await api.get(`/me/diary/${id}`);
  const remove = h("button", { type: "button", class: "danger wide" }, t("diary.delete"));
  const message = h("div", { "aria-live": "polite" });
  remove.addEventListener("click", async () => {
    if (!window.confirm(t("diary.delete_confirm"))) return;
    try {
      await api.request(`/me/diary/${id}`, { method: "DELETE" });
      app.navigate("#/diary");
    } catch (error) {
      replace(message, alertBox(problemText(error)));
    }
  });
  replace(
    app.main,
    h("p", { class: "meta" }, formatTime(entry.created_at, lang)),
    entryForm(app, entry, async (body, msg) => {
      try {
        await api.request(`/me/diary/${id}`, { method: "PATCH", body });
        app.navigate("#/diary");
      } catch (error) {
        replace(msg, alertBox(problemText(error)));
      }
    }),
    message,
    remove,
  );
}
