// A real OpenID Provider for the tests: oidc-provider (certified) on 127.0.0.1, one or more
// issuers in one process, each configured as an "ID-porten" or a "HelseID".
//
//   node oidc-op.mjs CONFIG.json        prints "ready" once every issuer listens
//
// CONFIG: {"providers": [{"name", "port", "keys": [private JWK...], "clients": [client
// metadata...], "accounts": [{"sub", "label", "claims": {...}}], "acr_values": [...],
// "claims": [names put in the ID token], "par": bool, "require_par": bool, "dpop": bool}]}
//
// The login page lists the synthetic accounts and the levels of assurance (acr) to pick;
// a consent is granted by itself. Only in this test script, on each issuer's port:
//   POST /__test/rotate          {"keys": [...]}: a new signing key set (old keys gone)
//   POST /__test/next-id-token   {"id_token": "..."}: the next token response carries this
//                                ID token instead of its own (for tokens no real OP would issue)
// The process ends by itself when its standard input closes (the test process went away).

import { readFileSync } from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function makeProvider(spec, keys, state) {
  const issuer = `http://127.0.0.1:${spec.port}`;
  const accounts = new Map(spec.accounts.map((a) => [a.sub, a]));
  const provider = new Provider(issuer, {
    clients: spec.clients,
    jwks: { keys },
    acrValues: spec.acr_values,
    claims: { openid: ["sub", ...spec.claims] },
    scopes: ["openid", "offline_access", "profile", ...(spec.scopes || [])],
    conformIdTokenClaims: false,
    cookies: { keys: ["muli-test-op-cookie-key-0123456789"] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: !!spec.par, requirePushedAuthorizationRequests: !!spec.require_par },
      // HelseID asks for a server-provided nonce in DPoP proofs (`use_dpop_nonce` first).
      dPoP: spec.dpop_nonce
        ? { enabled: true, nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true }
        : { enabled: !!spec.dpop },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, async claims() { return { sub, ...account.claims }; } };
    },
    async loadExistingGrant(ctx) {
      // Synthetic users consent to everything asked: no consent screen.
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope || "openid");
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { Session: 600, Interaction: 600, AuthorizationCode: 60, IdToken: 120, AccessToken: 120 },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === "/token" && state.nextIdToken && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: state.nextIdToken };
      state.nextIdToken = null;
    }
  });
  return provider;
}

// The level a login gets unless another is picked: the one below the highest
// (idporten-loa-substantial of low/substantial/high; HelseID's 4 of 3/4 is the highest).
function defaultAcr(spec) {
  return spec.default_acr || spec.acr_values[Math.max(0, spec.acr_values.length - 2)];
}

function loginPage(spec, uid) {
  const accounts = spec.accounts
    .map(
      (a) =>
        `<li><button type="submit" name="account" value="${escape(a.sub)}">${escape(a.label)}</button></li>`,
    )
    .join("");
  const levels = spec.acr_values
    .map((v) => `<option value="${escape(v)}"${v === defaultAcr(spec) ? " selected" : ""}>${escape(v)}</option>`)
    .join("");
  return `<!doctype html><html lang="nb"><head><meta charset="utf-8"><title>${escape(spec.name)} (test)</title></head>
<body><h1>${escape(spec.name)} — testinnlogging</h1>
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Sikkerhetsnivå <select name="acr">${levels}</select></label>
<ul>${accounts}</ul></form></body></html>`;
}

async function serve(spec) {
  const state = { nextIdToken: null };
  let provider = makeProvider(spec, spec.keys, state);
  let handler = provider.callback();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, `http://127.0.0.1:${spec.port}`);
      if (req.method === "POST" && url.pathname === "/__test/rotate") {
        const { keys } = JSON.parse(await readBody(req));
        provider = makeProvider(spec, keys, state);
        handler = provider.callback();
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST" && url.pathname === "/__test/next-id-token") {
        state.nextIdToken = JSON.parse(await readBody(req)).id_token;
        res.writeHead(204).end();
        return;
      }
      const match = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
      if (match) {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === "login" && req.method === "GET" && !match[2]) {
          res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(loginPage(spec, details.uid));
          return;
        }
        if (details.prompt.name === "login" && req.method === "POST" && match[2]) {
          const form = new URLSearchParams(await readBody(req));
          const account = form.get("account");
          if (!spec.accounts.some((a) => a.sub === account)) {
            res.writeHead(400).end("unknown account");
            return;
          }
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: account, acr: form.get("acr") || defaultAcr(spec), amr: ["pwd"] } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        // Consent (should not be asked: loadExistingGrant grants it).
        const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        grant.addOIDCScope(details.params.scope || "openid");
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
        return;
      }
      handler(req, res);
    } catch (error) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(spec.port, "127.0.0.1", resolve));
  return server;
}

const servers = await Promise.all(config.providers.map(serve));
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  for (const server of servers) server.close();
  process.exit(0);
});
