// Test-only OpenID Connect provider for tower-jwt-auth integration tests.
// See README.md for the environment variables. Never use this outside tests.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints some notices with console.info (stdout) at configuration
// and request time. The only line on stdout must be "listening on ...", so route
// console output to stderr.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`missing required environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

function list(value) {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

const port = Number.parseInt(required('PORT'), 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid PORT ${process.env.PORT}`);
  process.exit(2);
}
const keysFile = required('KEYS_FILE');
const kids = list(required('KIDS'));
if (kids.length === 0) {
  console.error('KIDS must name at least one key id');
  process.exit(2);
}
const resources = list(process.env.RESOURCES || 'https://api.example.com');
if (resources.length === 0) {
  console.error('RESOURCES must name at least one resource indicator');
  process.exit(2);
}
// Resource indicators whose access tokens carry no `aud`, as some providers issue them.
const withoutAud = list(process.env.RESOURCES_WITHOUT_AUD || '');
const jwksMaxAge = process.env.JWKS_MAX_AGE;
if (jwksMaxAge !== undefined && jwksMaxAge !== '' && !/^\d+$/.test(jwksMaxAge)) {
  console.error(`invalid JWKS_MAX_AGE ${jwksMaxAge}`);
  process.exit(2);
}

// Key store: {"kid": {private JWK}, ...}. Missing kids get a fresh RSA 2048 key.
const stored = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : {};
let changed = false;
for (const kid of kids) {
  if (!stored[kid]) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    stored[kid] = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
    changed = true;
  }
}
if (changed) {
  const tmp = `${keysFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, keysFile);
}
// The first kid signs new tokens, the others are only published.
const keys = kids.map((kid) => ({ ...stored[kid], kid, alg: 'RS256', use: 'sig' }));

const scope = 'orders:read orders:write';
const accessTokenTTL = 300;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'service',
      client_secret: 'service-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys },
  cookies: { keys: ['test-only-cookie-signing-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resources[0],
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (!resources.includes(resourceIndicator) && !withoutAud.includes(resourceIndicator)) {
          throw new errors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
        }
        return {
          scope,
          audience: resourceIndicator,
          accessTokenTTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  ttl: {
    ClientCredentials: accessTokenTTL,
  },
  formats: {
    customizers: {
      // oidc-provider will not sign a JWT access token without an audience; to issue one as
      // other providers do, the payload is written out without its `aud`.
      async jwt(ctx, token, jwt) {
        if (withoutAud.includes(token.resourceServer?.identifier())) {
          jwt.payload.toJSON = function withoutAudience() {
            const { aud, toJSON, ...rest } = this;
            return rest;
          };
        }
      },
    },
  },
});

// Plain http on loopback: nothing is proxied, no x-forwarded-* is trusted.
provider.proxy = false;

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description ?? ''));

if (jwksMaxAge !== undefined && jwksMaxAge !== '') {
  const jwksPath = new URL(provider.urlFor('jwks')).pathname;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === jwksPath && ctx.status === 200) {
      ctx.set('cache-control', `max-age=${jwksMaxAge}`);
    }
  });
}

const server = createServer(provider.callback());

server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
