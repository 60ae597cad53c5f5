// What the app keeps on the device between visits: the last profile and plans (so they open
// with no network), the outbox, and who is signed in. Never a token: the access token lives in
// memory only and the refresh token in an HttpOnly cookie the scripts cannot read.
//
// Two ways out (see patient_app/README.md, "What stays on the phone"):
// - the session ends (signed out elsewhere, a forced end, the refresh token expired or spent):
//   endSession() forgets the session and what is only useful signed in, and KEEPS the last
//   crisis plan and the emergency numbers, so they open offline and without signing in;
// - the patient signs out on purpose, or the team ended the account: clearPersonal() removes
//   everything except the language and the outbox (which belongs to one patient id).

const PREFIX = "muli.";
const KEEP = new Set(["muli.lang", "muli.outbox"]);
// Kept when a session ends by itself: the plan the patient last saw, whose it is, the numbers.
const ON_PHONE = new Set([...KEEP, "muli.crisis", "muli.crisis.owner", "muli.sos"]);

export function get(name, fallback = null) {
  try {
    const raw = localStorage.getItem(PREFIX + name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function set(name, value) {
  try {
    localStorage.setItem(PREFIX + name, JSON.stringify(value));
  } catch {
    // Storage full or blocked: the app still works online.
  }
}

export function remove(name) {
  localStorage.removeItem(PREFIX + name);
}

function removeAllBut(kept) {
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(PREFIX) && !kept.has(key)) localStorage.removeItem(key);
  }
}

// Signing out on purpose, or the account was ended: nothing personal stays.
export function clearPersonal() {
  removeAllBut(KEEP);
}

// The session is over, the patient did not ask for it: the crisis plan stays on the phone.
export function endSession() {
  removeAllBut(ON_PHONE);
}

// A document as last fetched, with its ETag and when we got it.
export function keepDoc(name, body, etag) {
  set(name, { body, etag, saved_at: new Date().toISOString() });
}
