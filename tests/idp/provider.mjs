// The OpenID provider NixFlow's tests sign in through: the certified `oidc-provider` package, on loopback only.
//   node tests/idp/provider.mjs   (scripts/services.sh starts it: NIXFLOW_OIDC_PORT, default 19440)
// - dynamic client registration (POST /reg): each test registers its own client and redirect URI;
// - test accounts (below) with `email`, `email_verified`, `name` and `groups` claims; a test may add or change
//   one with PUT /test/accounts/{id} (JSON: password, email, email_verified, name, groups), loopback only;
// - a login form (fields `login`, `password`) and a consent form (button `allow`), plain HTML without scripts,
//   which Playwright and an httpx client both drive;
// - refresh tokens (scope offline_access) and token introspection (POST /token/introspection) for the mailbox
//   tests; static clients for them go in `clients` below.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.NIXFLOW_OIDC_PORT || 19440);
const host = '127.0.0.1';
const issuer = process.env.NIXFLOW_OIDC_ISSUER || `http://${host}:${port}`;

const accounts = new Map(Object.entries({
  ada: { password: 'ada-password', email: 'ada@idp.test', email_verified: true, name: 'Ada Agent', groups: ['helpdesk-agents'] },
  grace: { password: 'grace-password', email: 'grace@idp.test', email_verified: true, name: 'Grace Admin', groups: ['helpdesk-admins', 'helpdesk-agents'] },
  linus: { password: 'linus-password', email: 'linus@idp.test', email_verified: true, name: 'Linus Requester', groups: [] },
  mallory: { password: 'mallory-password', email: 'mallory@idp.test', email_verified: false, name: 'Mallory Unverified', groups: [] },
}));

// Dovecot's `oauth2` passdb (scripts/services.sh) introspects the mailbox tests' tokens as this client: a resource
// server, which asks for no tokens of its own.
const introspector = {
  client_id: 'dovecot',
  client_secret: process.env.NIXFLOW_OIDC_INTROSPECTION_SECRET || 'nixflow-dovecot-introspection',
  grant_types: [],
  response_types: [],
  redirect_uris: [],
};

const provider = new Provider(issuer, {
  clients: [introspector],
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const { password, ...claims } = account;
        return { sub: id, ...claims };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  // The scopes' claims in the id_token too (as most providers do), not only from the userinfo endpoint.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  // A grant always gets a refresh token when it asks for offline_access (the mailbox tests do).
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  cookies: { keys: ['nixflow-test-idp-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // A client may ask for short-lived access tokens (registration metadata `access_token_ttl`, seconds): the mailbox
  // tests let one lapse at the provider while NixFlow still holds it.
  extraClientMetadata: { properties: ['access_token_ttl'] },
  ttl: {
    Session: 600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, IdToken: 300, RefreshToken: 86400,
    AccessToken: (ctx, token, client) => Number(client?.access_token_ttl) || 300,
  },
});

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1>${body}</body></html>`;
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'GET' && prompt.name === 'login') {
    return send(res, 200, page('Test IdP sign-in', `<form method="post" action="/interaction/${uid}">` +
      `<label>Login <input name="login" autofocus></label> <label>Password <input name="password" type="password"></label>` +
      ` <button type="submit">Sign in</button></form>`));
  }
  if (req.method === 'GET') {
    return send(res, 200, page('Test IdP consent', `<p>${escape(params.client_id)} asks for: ${escape(params.scope)}</p>` +
      `<form method="post" action="/interaction/${uid}"><button type="submit" name="allow" value="yes">Allow</button></form>`));
  }
  const form = new URLSearchParams(await readBody(req));
  if (prompt.name === 'login') {
    const account = accounts.get(form.get('login') || '');
    if (!account || account.password !== form.get('password')) {
      return send(res, 401, page('Test IdP sign-in', '<p>Wrong login or password.</p>'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function putAccount(req, res, id) {
  const account = JSON.parse(await readBody(req));
  accounts.set(id, account);
  res.writeHead(204);
  res.end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  const handled = url.pathname.startsWith('/interaction/') ? interaction(req, res)
    : url.pathname.startsWith('/test/accounts/') && req.method === 'PUT'
      ? putAccount(req, res, decodeURIComponent(url.pathname.slice('/test/accounts/'.length)))
      : null;
  if (handled === null) return callback(req, res);
  handled.catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 400, page('Test IdP error', `<p>${escape(err.message)}</p>`));
  });
});
server.listen(port, host, () => console.log(`test OpenID provider at ${issuer}`));
