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

function entryForm(app, entry, onSave) {
  const text = h("textarea", { name: "text", rows: "8", required: true, maxlength: "20000" });
  text.value = entry?.text || "";
  const withMood = h("input", { type: "checkbox", name: "with_mood", checked: entry ? entry.mood != null : true });
  const mood = h("input", { type: "range", name: "mood", min: "0", max: "10", step: "1", value: String(entry?.mood ?? 5) });
  const moodOut = h("output", { for: "mood" }, mood.value);
  mood.addEventListener("input", () => {
    moodOut.textContent = mood.value;
    withMood.checked = true;
  });
  const withSleep = h("input", { type: "checkbox", name: "with_sleep", checked: entry ? entry.sleep_hours != null : true });
  const sleep = h("input", { type: "range", name: "sleep_hours", min: "0", max: "14", step: "0.5", value: String(entry?.sleep_hours ?? 7) });
  const sleepOut = h("output", {}, sleep.value);
  sleep.addEventListener("input", () => {
    sleepOut.textContent = sleep.value;
    withSleep.checked = true;
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
          mood: withMood.checked ? Number(mood.value) : null,
          sleep_hours: withSleep.checked ? Number(sleep.value) : null,
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
    h("div", { class: "card slider" }, h("label", { class: "inline" }, withMood, " ", t("diary.mood")), h("div", { class: "range" }, h("span", {}, "0"), mood, h("span", {}, "10"), moodOut), h("p", { class: "hint" }, t("diary.mood_hint"))),
    h("div", { class: "card slider" }, h("label", { class: "inline" }, withSleep, " ", t("diary.sleep")), h("div", { class: "range" }, h("span", {}, "0"), sleep, h("span", {}, "14"), sleepOut)),
    h("label", { class: "switch card" }, share, h("span", {}, t("diary.share"), h("small", { class: "hint" }, t("diary.share_hint")))),
    message,
    h("div", { class: "actions sticky" }, save, h("a", { href: "#/diary", class: "button secondary" }, t("form.cancel"))),
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
