// provider.mjs: a real OpenID Connect provider for the sign-in tests: node's oidc-provider
// (exact version in package-lock.json, installed by infra/deps.sh) on 127.0.0.1, with the test
// clients and one test account. Its interaction signs the fixed test user in and grants the
// asked scopes without a page (the tests are about Chatr's side of the flow). PKCE is required,
// so a client that does not send it right cannot sign in. RS256 and ES256 keys are generated at
// start; a client picks its ID token algorithm (id_token_signed_response_alg).
//
// As a program (tests/api/test_oidc.py): OIDC_TEST_CONFIG='{"port":..,"clients":[..],
// "account":{..}}' node tests/oidc/provider.mjs   prints "ready <issuer>" once listening, stops on
// SIGTERM. As a module (tests/e2e/oidc.test.mjs): startProvider(config) -> { issuer, close() }.
import crypto from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

function key(type, options, kid, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

export async function startProvider({ port, clients, account }) {
  const issuer = `http://127.0.0.1:${port}`;
  const jwks = {
    keys: [
      key('rsa', { modulusLength: 2048 }, 'rs-test', 'RS256'),
      key('ec', { namedCurve: 'P-256' }, 'es-test', 'ES256'),
    ],
  };
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // Profile claims in the ID token itself, as Keycloak, Entra and Google put them.
    conformIdTokenClaims: false,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    findAccount: async (_ctx, sub) => (sub === account.sub
      ? { accountId: sub, claims: async () => ({ ...account.claims, sub }) }
      : undefined),
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));

  // The interaction: the test account signs in; the scopes asked are granted.
  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: account.sub } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  }

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((err) => {
        console.error('interaction:', err);
        res.statusCode = 500;
        res.end('interaction failed');
      });
    } else {
      callback(req, res);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    issuer,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const p = await startProvider(JSON.parse(process.env.OIDC_TEST_CONFIG));
  process.on('SIGTERM', () => p.close().then(() => process.exit(0)));
  console.log(`ready ${p.issuer}`);
}
