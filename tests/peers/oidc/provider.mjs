// The OpenID provider of the tests: panva's oidc-provider (OpenID Certified) on a free loopback port.
//
// Started by tests/oidc_provider.py with its settings as JSON in OIDC_TEST_SETTINGS:
//   {"jwks": {"keys": [private JWKs; the first of each algorithm signs]},
//    "client": {client_id, client_secret, redirect_uris, post_logout_redirect_uris},
//    "accounts": {"<sub>": {claims}}}
// It prints "listening <port>" once it answers. Sign-in is oidc-provider's devInteractions page (any password);
// consent is taken as given by the organisation, as a company's provider does for its own applications.
//
// Two test-only hooks, on paths no real provider has:
//   POST /__test__/configure  {jwks?, client?, accounts?}: a new Provider with these settings (key rotation,
//                             another redirect URI); sessions, codes and grants are kept (the in-memory adapter
//                             is the process's).
//   POST /__test__/id-token   {id_token}: the next successful token response carries this ID token instead of
//                             the one the provider made, so a test can deliver a forged or altered token through
//                             the real code exchange (PKCE, client authentication and the one-time code all real).
import http from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(process.env.OIDC_TEST_SETTINGS);
let nextIdToken = null;
let current = null;

const EMPLOYEE_CLAIMS = ['employee_id', 'groups', 'department', 'job_title'];

function configuration() {
  return {
    clients: [
      {
        ...settings.client,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: settings.jwks,
    cookies: { keys: ['oidc test provider cookie key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', ...EMPLOYEE_CLAIMS],
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(ctx, sub) {
      const claims = settings.accounts[sub];
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name', ...EMPLOYEE_CLAIMS]);
      await grant.save();
      return grant;
    },
  };
}

function build(issuer) {
  const provider = new Provider(issuer, configuration());
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && nextIdToken && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: nextIdToken };
      nextIdToken = null;
    }
  });
  return provider.callback();
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => { try { resolve(JSON.parse(body || '{}')); } catch (error) { reject(error); } });
  });
}

async function testHook(req, res, issuer) {
  const body = await readJson(req);
  if (req.url === '/__test__/configure') {
    Object.assign(settings, body);
    current = build(issuer);
  } else if (req.url === '/__test__/id-token') {
    nextIdToken = body.id_token;
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

const server = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  if (req.method === 'POST' && req.url.startsWith('/__test__/')) {
    testHook(req, res, issuer).catch((error) => res.writeHead(400).end(String(error)));
    return;
  }
  current(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  current = build(`http://127.0.0.1:${port}`);
  process.stdout.write(`listening ${port}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
