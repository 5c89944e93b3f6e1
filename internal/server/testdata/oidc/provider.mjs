// A real OpenID provider (panva's oidc-provider, OpenID certified) for the
// sign-in tests: one static client, a few users, and login pages of its own.
// The tests start it with node and read the issuer from its first line.
//
// Environment: OIDC_REDIRECT_URI (the portal's callback, required),
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ISSUER (a different issuer than
// the address it listens on: a second provider claiming to be the first,
// with keys of its own), OIDC_ID_TOKEN_TTL (seconds).
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

// Each user's claims; amr is what the provider asserts about how they
// signed in here.
const users = {
  'ada@northwind-partners.example': { name: 'Ada Lovelace', email_verified: true, amr: ['pwd'] },
  'new@northwind-partners.example': { name: 'Nova Newcomer', email_verified: true, amr: ['pwd'] },
  'unverified@northwind-partners.example': { name: 'Una Verified', email_verified: false, amr: ['pwd'] },
  'ops@clc.example': { name: 'Olga Operator', email_verified: true, amr: ['pwd', 'mfa', 'otp'] },
  'ops2@clc.example': { name: 'Otto Operator', email_verified: true, amr: ['pwd'] },
};
const password = 'provider-password';

const env = process.env;
// Fresh signing keys for each instance: a second instance signs with keys
// the first never published.
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const issuer = env.OIDC_ISSUER || origin;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env.OIDC_CLIENT_ID || 'clc-portal',
    client_secret: env.OIDC_CLIENT_SECRET || 'clc-portal-secret',
    redirect_uris: [env.OIDC_REDIRECT_URI],
    post_logout_redirect_uris: [new URL('/', env.OIDC_REDIRECT_URI).href],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  // amr goes with openid: the ID token always says how the person signed in.
  claims: { acr: null, auth_time: null, sid: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name'] },
  // The ID token carries the scopes' claims itself, as most providers'
  // do, rather than only the userinfo endpoint.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  ttl: { IdToken: Number(env.OIDC_ID_TOKEN_TTL || 3600) },
  cookies: { keys: [randomUUID()] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const u = users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: u.email_verified, name: u.name };
      },
    };
  },
  // The portal is the company's own application: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Company sign-in</title></head><body><main>${body}</main></body></html>`);
}

function loginForm(uid, error) {
  return `<h1>Company sign-in</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<p><label for="login">Username</label> <input id="login" name="login" type="email" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('body too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, '<p>Wrong interaction.</p>');
  if (req.method === 'GET') return page(res, 200, loginForm(uid, ''));
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = (form.get('login') || '').toLowerCase();
    const u = users[login];
    if (!u || form.get('password') !== password) return page(res, 401, loginForm(uid, 'Wrong username or password.'));
    return provider.interactionFinished(req, res, { login: { accountId: login, amr: u.amr } }, { mergeWithLastSubmission: false });
  }
  return page(res, 405, '<p>Method not allowed.</p>');
}

const handle = provider.callback();
server.on('request', (req, res) => {
  const m = /^\/interaction\/([^/?]+)(?:\/(login))?(?:\?.*)?$/.exec(req.url);
  if (!m) return handle(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    console.error(err);
    if (!res.headersSent) page(res, 400, `<p>${escape(err.message)}</p>`);
  });
});
// The first line tells the tests where the provider is.
console.log(`listening ${origin} issuer ${issuer}`);
