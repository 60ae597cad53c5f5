// The route table: #/path → a screen's render(app, ...params).

import { activate, login } from "./auth.js";
import { contact, contactStatus } from "./contact.js";
import { crisis, crisisEdit, crisisVersions } from "./crisis.js";
import { diary, diaryEntry, diaryNew } from "./diary.js";
import { home, settings } from "./home.js";
import { mastery, masteryEdit } from "./mastery.js";
import { accessLog, consents } from "./privacy.js";

const ROUTES = [
  ["", home],
  ["login", login],
  ["activate", activate],
  ["crisis", crisis],
  ["crisis/edit", crisisEdit],
  ["crisis/versions", crisisVersions],
  ["contact", contact],
  ["contact/:id", contactStatus],
  ["mastery", mastery],
  ["mastery/edit", masteryEdit],
  ["diary", diary],
  ["diary/new", diaryNew],
  ["diary/:id", diaryEntry],
  ["consents", consents],
  ["access-log", accessLog],
  ["settings", settings],
];

export function find(parts) {
  for (const [pattern, render] of ROUTES) {
    const want = pattern ? pattern.split("/") : [];
    if (want.length !== parts.length) continue;
    const params = [];
    if (want.every((w, i) => (w.startsWith(":") ? params.push(decodeURIComponent(parts[i])) : w === parts[i]))) {
      return { render, params };
    }
  }
  return { render: home, params: [] };
}
