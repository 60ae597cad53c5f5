// "Når du vil snakke med noen": one tap for a call or a chat; then the request's state live,
// messages both ways, and "I'm OK now". Made with no network, the request waits in the outbox.

import * as api from "../api.js";
import { lang, t } from "../i18n.js";
import * as outbox from "../outbox.js";
import * as store from "../store.js";
import { formatTime, h, replace, withCallLinks } from "../ui.js";
import { alertBox, field, problemText } from "./common.js";
import { numbersCard } from "./crisis.js";
import { availabilityText } from "./home.js";

const POLL_MS = 4000;
const LIVE = ["open", "acknowledged"];

function remember(request) {
  store.set("contact.active", request.id);
  store.set("contact.last", request);
  // Only the answer to the POST says so (`message_altered`): keep it for this request.
  if (request.message_altered) store.set("contact.altered", request.id);
}

// The message had text that cannot be stored as sent (half an emoji): the server stored
// U+FFFD instead and said so; the patient should know why their text looks different.
function alteredNote(request) {
  if (store.get("contact.altered") !== request.id) return null;
  return h("p", { class: "meta", id: "message-altered", role: "note" }, t("contact.message_altered"));
}

// A request that waited offline has gone out: the app follows it from now on.
outbox.onSent((item, data) => {
  if (item.kind === "contact" && data?.id) {
    remember(data);
    if (location.hash === "#/contact") location.hash = `#/contact/${data.id}`;
  }
});

function fallbackNumbers() {
  return store.get("me")?.emergency_numbers || [{ number: "113" }, { number: "116 117" }];
}

export async function contact(app) {
  app.title(t("tile.contact"));
  const waiting = outbox.items("contact");
  if (waiting.length) {
    drawWaiting(app, waiting);
    const stop = outbox.onChange(() => {
      if (!outbox.items("contact").length) app.redraw();
    });
    app.onLeave(stop);
    return;
  }
  const last = store.get("contact.last");
  if (last && LIVE.includes(last.state)) {
    app.navigate(`#/contact/${last.id}`);
    return;
  }
  drawForm(app);
  try {
    const { data } = await api.get("/me/contact-requests?limit=1");
    const latest = (data.items || [])[0];
    if (latest && LIVE.includes(latest.state)) {
      remember(latest);
      app.navigate(`#/contact/${latest.id}`);
    }
  } catch {
    // offline: the form still works, the request will wait
  }
}

function drawWaiting(app, waiting) {
  replace(
    app.main,
    h(
      "section",
      { class: "card waiting", role: "status", id: "contact-waiting" },
      h("h2", {}, t("contact.waiting_title")),
      h("p", {}, t("contact.waiting_text")),
      waiting.map((i) =>
        h(
          "p",
          { class: "meta" },
          t(`contact.kind_${i.body.kind}`),
          " · ",
          formatTime(i.created_at, lang),
          i.error ? [" · ", h("span", { class: "error" }, i.error)] : null,
        ),
      ),
    ),
    h("p", { class: "lead" }, t("contact.waiting_call")),
    numbersCard(fallbackNumbers()),
  );
}

// The two big buttons come first, right under who answers now: at 2 a.m. on a small phone
// "Ring meg" must be on the first screen. Everything else is optional and sits below them.
function drawForm(app) {
  const me = store.get("me") || {};
  const message = h("textarea", { name: "message", rows: "3", maxlength: "2000" });
  const crisisNow = h("input", { type: "checkbox", name: "urgency", role: "switch" });
  const phone = h("input", { type: "tel", name: "callback_phone", autocomplete: "tel", inputmode: "tel", placeholder: "+47 000 00 000" });
  const mine = h("input", { type: "radio", name: "which_phone", value: "mine", checked: Boolean(me.phone) });
  const other = h("input", { type: "radio", name: "which_phone", value: "other", checked: !me.phone });
  const callsOn = h("p", { class: "hint calls-on", id: "calls-on" });
  const feedback = h("div", { "aria-live": "polite" });
  const showCallsOn = () => {
    const tonight = phone.value.trim();
    replace(
      callsOn,
      other.checked && tonight
        ? t("contact.calls_on", { number: tonight })
        : mine.checked && me.phone
          ? t("contact.calls_on", { number: me.phone })
          : t("contact.no_number"),
    );
  };
  phone.addEventListener("input", () => {
    if (phone.value.trim()) other.checked = true;
    showCallsOn();
  });
  phone.addEventListener("focus", () => {
    other.checked = true;
    showCallsOn();
  });
  mine.addEventListener("change", showCallsOn);
  other.addEventListener("change", showCallsOn);
  showCallsOn();
  const ask = (kind) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    replace(feedback);
    const body = { kind, urgency: crisisNow.checked ? "crisis" : "talk" };
    if (message.value.trim()) body.message = message.value.trim();
    // Without a number for tonight the team calls the one in my profile.
    if (other.checked && phone.value.trim()) body.callback_phone = phone.value.trim();
    const result = await outbox.add("contact", "/me/contact-requests", body);
    button.disabled = false;
    if (result.sent) {
      remember(result.sent);
      app.navigate(`#/contact/${result.sent.id}`);
    } else if (result.error) {
      outbox.discard(result.item.key);
      replace(feedback, alertBox(result.error));
    } else {
      app.redraw();
    }
  };
  const whoAnswers = h("div", { id: "who-answers" });
  drawAvailability(whoAnswers, me.availability);
  app.loadMe().then(
    (fresh) => drawAvailability(whoAnswers, fresh.availability),
    () => {},
  );
  const phoneChoice = h(
    "fieldset",
    { class: "phone-choice" },
    h("legend", {}, t("contact.phone")),
    me.phone
      ? h("label", { class: "choice" }, mine, h("span", {}, t("contact.phone_mine", { number: me.phone })))
      : h("p", { class: "hint" }, t("contact.phone_none")),
    h("label", { class: "choice" }, other, h("span", {}, t("contact.phone_other"))),
    phone,
  );
  replace(
    app.main,
    whoAnswers,
    h("label", { class: "switch crisis-switch" }, crisisNow, h("span", {}, t("contact.crisis_now"))),
    feedback,
    h(
      "div",
      { class: "big-choices" },
      h("div", {}, h("button", { type: "button", class: "big primary", id: "ask-call", onclick: ask("call_me") }, t("contact.call_me")), callsOn),
      h("button", { type: "button", class: "big primary", id: "ask-chat", onclick: ask("chat") }, t("contact.chat")),
    ),
    h("p", { class: "hint" }, withCallLinks(t("contact.emergency_hint"))),
    h(
      "div",
      { class: "card stack", id: "contact-extras" },
      h("p", { class: "meta" }, t("contact.lead")),
      field(t("contact.message"), message, t("contact.message_hint")),
      phoneChoice,
    ),
  );
}

// Before asking: who answers now (or, plainly, that nobody does).
function drawAvailability(el, availability) {
  if (!availability) return;
  replace(
    el,
    availability.status === "none"
      ? h(
          "div",
          { class: "card alert-none", role: "status" },
          h("p", {}, withCallLinks(t("availability.none"))),
          h("p", {}, t("contact.none_still_send")),
        )
      : h("p", { class: "availability" }, availabilityText(availability)),
  );
}

function routing(request) {
  if (request.routed_to === "none") {
    return h(
      "div",
      { class: "card alert-none", role: "alert", id: "nobody-on-call" },
      h("h2", {}, t("contact.none_title")),
      h("p", {}, withCallLinks(t("contact.none_text"))),
    );
  }
  const who = request.responder
    ? t("contact.on_call_person", { name: request.responder.name, agency: request.responder.agency })
    : t(request.routed_to === "office" ? "contact.routed_office" : "contact.routed_on_call");
  return h(
    "div",
    { class: "card" },
    h("p", {}, who),
    request.acknowledge_within_minutes && request.state === "open"
      ? h("p", { class: "meta" }, t("contact.within", { n: request.acknowledge_within_minutes }))
      : null,
  );
}

function steps(request) {
  const ack = request.acknowledged_by;
  const done = (ok) => (ok ? "step done" : "step");
  const closed = request.state === "closed" || request.state === "cancelled";
  return h(
    "ol",
    { class: "steps", id: "contact-state", dataset: { state: request.state } },
    h("li", { class: done(true) }, t("contact.sent"), " ", h("span", { class: "meta" }, formatTime(request.created_at, lang))),
    h(
      "li",
      { class: done(Boolean(ack)), id: "contact-seen" },
      ack
        ? t("contact.seen_by", { name: ack.name, agency: ack.agency, when: formatTime(request.acknowledged_at, lang) })
        : t("contact.not_seen"),
    ),
    // "Ola ringer deg": the responder tapped "Ringer nå" (the last time, if more than once).
    // The status is inside the item: a list holds list items only, and an <li> is no status.
    request.call_started_at && !closed
      ? h(
          "li",
          { class: "step done calling", id: "contact-calling" },
          h(
            "span",
            { role: "status" },
            t("contact.calling", { name: request.call_started_by?.name || "", when: formatTime(request.call_started_at, lang) }),
          ),
        )
      : null,
    h(
      "li",
      { class: done(closed) },
      request.state === "cancelled"
        ? t("contact.cancelled", { when: formatTime(request.cancelled_at, lang) })
        : request.state === "closed"
          ? t("contact.closed", { when: formatTime(request.closed_at, lang) })
          : t("contact.not_closed"),
    ),
  );
}

function messagesList(request) {
  const items = request.messages || [];
  const waiting = outbox.items("message").filter((i) => i.path.includes(request.id));
  return h(
    "ul",
    { class: "messages", id: "messages" },
    items.map((m) =>
      h(
        "li",
        { class: `message from-${m.author}` },
        h("span", { class: "meta" }, m.author === "patient" ? t("contact.you") : `${m.name || ""}${m.agency ? ` (${m.agency})` : ""}`, " · ", formatTime(m.created_at, lang)),
        h("p", {}, m.body),
      ),
    ),
    waiting.map((i) =>
      h("li", { class: "message from-patient waiting" }, h("span", { class: "meta" }, t("contact.you"), " · ", t("outbox.waiting_one")), h("p", {}, i.body.body)),
    ),
  );
}

export async function contactStatus(app, id) {
  app.title(t("tile.contact"));
  const view = h("div", { id: "contact-view" });
  const feedback = h("div", { "aria-live": "polite" });
  replace(app.main, view, feedback);
  let request = store.get("contact.last");
  let timer = null;
  let typing = "";

  const draw = () => {
    if (!request || request.id !== id) return;
    const live = LIVE.includes(request.state);
    const text = h("textarea", { name: "body", rows: "2", maxlength: "2000", "aria-label": t("contact.write") });
    text.value = typing;
    text.addEventListener("input", () => {
      typing = text.value;
    });
    const send = h("button", { type: "submit", class: "primary" }, t("contact.send"));
    const form = live
      ? h(
          "form",
          {
            class: "card stack",
            onsubmit: async (event) => {
              event.preventDefault();
              const body = text.value.trim();
              if (!body) return;
              send.disabled = true;
              typing = "";
              const result = await outbox.add("message", `/me/contact-requests/${id}/messages`, { body });
              if (result.sent) request = result.sent;
              if (result.error) {
                outbox.discard(result.item.key);
                replace(feedback, alertBox(result.error));
              }
              draw();
            },
          },
          field(t("contact.write"), text),
          send,
        )
      : null;
    const ok = live ? h("button", { type: "button", class: "secondary wide", id: "im-ok" }, t("contact.im_ok")) : null;
    ok?.addEventListener("click", async () => {
      ok.disabled = true;
      try {
        const answer = await api.post(`/me/contact-requests/${id}/cancel`);
        request = answer.data;
        remember(request);
        draw();
      } catch (error) {
        ok.disabled = false;
        replace(feedback, alertBox(problemText(error)));
      }
    });
    const escalated = request.escalation?.level >= 2 && request.state === "open";
    replace(
      view,
      steps(request),
      live ? routing(request) : null,
      escalated ? h("div", { class: "card alert-none", role: "alert" }, h("p", {}, withCallLinks(t("contact.escalated")))) : null,
      messagesList(request),
      alteredNote(request),
      form,
      ok,
      !live ? h("a", { href: "#/contact", class: "button secondary wide", id: "new-request" }, t("contact.new")) : null,
      numbersCard(request.emergency_numbers || fallbackNumbers()),
    );
  };

  const poll = async () => {
    try {
      const { data } = await api.get(`/me/contact-requests/${id}`);
      request = data;
      remember(request);
      replace(feedback);
      const focused = document.activeElement?.name === "body";
      draw();
      if (focused) view.querySelector("textarea[name=body]")?.focus();
    } catch (error) {
      if (!(error instanceof api.OfflineError)) replace(feedback, alertBox(problemText(error)));
      else if (!request || request.id !== id) replace(feedback, alertBox(t("offline.unavailable")));
    }
    if (!request || LIVE.includes(request.state)) timer = setTimeout(poll, POLL_MS);
  };
  app.onLeave(() => clearTimeout(timer));
  app.onLeave(outbox.onSent((item, data) => {
    if (item.kind === "message" && data?.id === id) {
      request = data;
      draw();
    }
  }));
  draw();
  await poll();
}
