// Notifications on this phone (Web Push): a switch in Settings. On: PushManager.subscribe
// with the server's VAPID key, and the subscription handed to /me/push-subscriptions. Off
// (or signing out): the subscription removed on both sides. What a notification says holds
// no name and nothing the patient wrote; the service worker (sw.js) shows it and a tap
// opens the request.

import * as api from "./api.js";
import { t } from "./i18n.js";
import * as store from "./store.js";
import { h, replace } from "./ui.js";

const KEY = "push_subscription_id";

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function bytes(base64url) {
  const text = atob((base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function current() {
  if (!supported()) return null;
  const registration = await navigator.serviceWorker.getRegistration("/app/");
  return registration ? registration.pushManager.getSubscription() : null;
}

async function turnOn() {
  if ((await Notification.requestPermission()) !== "granted") throw new Error("denied");
  const { data } = await api.request("/me/push-subscriptions");
  if (!data.public_key) throw new Error("off");
  const registration = await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(data.public_key) }));
  const { data: saved } = await api.request("/me/push-subscriptions", {
    method: "POST",
    body: { ...subscription.toJSON(), label: t("push.this_phone") },
  });
  store.set(KEY, saved.id);
}

// Also called when signing out: a shared phone must stop ringing for the person who left.
export async function turnOff() {
  const id = store.get(KEY);
  store.remove(KEY);
  try {
    if (id) await api.request(`/me/push-subscriptions/${id}`, { method: "DELETE" });
  } catch {
    // already gone, or no network: the push service's 410 drops it later
  }
  const subscription = await current().catch(() => null);
  if (subscription) await subscription.unsubscribe().catch(() => {});
}

export function pushToggle() {
  const message = h("p", { class: "small", "aria-live": "polite" });
  const box = h("input", { type: "checkbox", role: "switch", id: "push-toggle", disabled: true });
  const card = h(
    "section",
    { class: "card", id: "push-settings" },
    h("h2", {}, t("push.title")),
    h("label", { class: "switch" }, box, h("span", {}, t("push.toggle"))),
    h("p", { class: "small" }, t("push.hint")),
    message,
  );
  if (!supported()) {
    replace(message, t("push.unsupported"));
    return card;
  }
  current()
    .then((subscription) => {
      box.checked = Boolean(subscription && store.get(KEY) && Notification.permission === "granted");
      box.disabled = false;
    })
    .catch(() => {
      box.disabled = false;
    });
  box.addEventListener("change", async () => {
    box.disabled = true;
    replace(message);
    try {
      if (box.checked) {
        await turnOn();
        replace(message, t("push.on"));
      } else {
        await turnOff();
        replace(message, t("push.off"));
      }
    } catch (error) {
      box.checked = !box.checked;
      replace(message, error && error.message === "denied" ? t("push.denied") : t("push.failed"));
    }
    box.disabled = false;
  });
  return card;
}
