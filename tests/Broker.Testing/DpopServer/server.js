// A DPoP-capable authorization server for Broker's tests: node oidc-provider with its own DPoP validation
// (RFC 9449, server nonces), client credentials, refresh-token rotation (reuse revokes the grant), introspection
// and revocation. Started by Broker.Testing's DpopAuthorizationServer; settings come from the environment:
//   DPOP_PORT               loopback port to listen on (required)
//   DPOP_REQUIRE_NONCE      "1": every proof must carry a server nonce (use_dpop_nonce first)
//   DPOP_ACCESS_TOKEN_TTL   access token lifetime in seconds (default 300)
//   DPOP_CLIENT_JWKS        a JWKS (JSON) of a second client, "broker-jwt", that authenticates with private_key_jwt
//   DPOP_ALGS               the proof algorithms it accepts and lists, comma-separated (default ES256)
//   DPOP_ENABLED            "0": no DPoP at all (bearer tokens, nothing in the metadata), as a server without RFC 9449
// Prints "issuer <url>" on stdout once it listens.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.DPOP_PORT);
if (!port) throw new Error('DPOP_PORT is required');
const issuer = `http://127.0.0.1:${port}`;
const requireNonce = process.env.DPOP_REQUIRE_NONCE === '1';
const accessTokenTtl = Number(process.env.DPOP_ACCESS_TOKEN_TTL || 300);
const dpopAlgs = (process.env.DPOP_ALGS || 'ES256').split(',');
const dpopEnabled = process.env.DPOP_ENABLED !== '0';

const common = {
  // Native: loopback redirect URIs match on any port (RFC 8252 §7.3), so the broker's ephemeral port is accepted.
  application_type: 'native',
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  redirect_uris: ['dpop', 'plain', 'strict'].map((name) => `http://127.0.0.1/oauth2/callback/${name}`),
  scope: 'openid offline_access api api.read',
};
const clients = [{ ...common, client_id: 'broker', client_secret: 'broker-test-secret' }];
if (process.env.DPOP_CLIENT_JWKS) {
  clients.push({
    ...common,
    client_id: 'broker-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: JSON.parse(process.env.DPOP_CLIENT_JWKS),
  });
}

// What the token endpoint answered, for tests that count requests.
const stats = { tokenRequests: 0, issued: 0, useDpopNonce: 0, errors: {}, issuedByGrant: {}, jtis: [], proofAlgs: [], revoked: 0 };

const provider = new Provider(issuer, {
  clients,
  scopes: ['openid', 'offline_access', 'api', 'api.read'],
  claims: { openid: ['sub'] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: {
      enabled: dpopEnabled,
      nonceSecret: crypto.randomBytes(32),
      requireNonce: () => requireNonce,
    },
  },
  // oidc-provider drops offline_access unless prompt=consent (OIDC Core §11); the broker sends no prompt, so every
  // code issues a refresh token here, as most providers do.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Every refresh rotates; a reused refresh token revokes the grant (oidc-provider's reuse detection).
  rotateRefreshToken: true,
  pkce: { required: () => true },
  ttl: {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    RefreshToken: 24 * 3600,
    AuthorizationCode: 60,
    Grant: 24 * 3600,
    Interaction: 600,
    Session: 24 * 3600,
    IdToken: 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // A proof in an algorithm not listed here is refused.
  enabledJWA: { dPoPSigningAlgValues: dpopAlgs },
});

provider.on('server_error', (_ctx, err) => console.error('server_error', err));

// Counts every token-endpoint answer and remembers each proof's jti (to show that none is reused).
provider.use(async (ctx, next) => {
  const isToken = ctx.path === '/token' && ctx.method === 'POST';
  const proof = isToken ? ctx.get('DPoP') : '';
  await next();
  if (ctx.path === '/token/revocation' && ctx.method === 'POST' && ctx.status === 200) stats.revoked += 1;
  if (!isToken) return;
  stats.tokenRequests += 1;
  if (proof) {
    try {
      const header = JSON.parse(Buffer.from(proof.split('.')[0], 'base64url').toString('utf8'));
      const payload = JSON.parse(Buffer.from(proof.split('.')[1], 'base64url').toString('utf8'));
      stats.jtis.push(payload.jti);
      stats.proofAlgs.push(header.alg);
    } catch { /* an unreadable proof is the server's to refuse */ }
  }
  if (ctx.status === 200) {
    stats.issued += 1;
    const grant = ctx.oidc?.params?.grant_type ?? 'unknown';
    stats.issuedByGrant[grant] = (stats.issuedByGrant[grant] ?? 0) + 1;
  }
  else {
    const error = ctx.body?.error ?? `status_${ctx.status}`;
    stats.errors[error] = (stats.errors[error] ?? 0) + 1;
    if (error === 'use_dpop_nonce') stats.useDpopNonce += 1;
  }
});

// The user's login without a browser form: the user named by login_hint (default alice) signs in and grants
// every scope the client asked for.
async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = details.params.login_hint || 'alice';
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope || ''));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/')) {
      await finishInteraction(req, res);
      return;
    }
    if (req.url === '/test/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    callback(req, res);
  } catch (err) {
    console.error('test route failed', err);
    res.statusCode = 500;
    res.end();
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`issuer ${issuer}`);
});
