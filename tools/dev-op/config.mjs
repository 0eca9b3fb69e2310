// Resolves the dev environment's settings: explicit options win over environment variables,
// which win over the defaults below.

export const CLIENT_IDS = Object.freeze({
  rotating: 'ngx-oidc-demo',
  nonRotating: 'ngx-oidc-demo-no-rotation',
  noRefresh: 'ngx-oidc-demo-no-refresh',
  // The second OP's demo client (several OPs in one app); known to both OPs, used at the second.
  partner: 'ngx-oidc-demo-partner',
});

export const API_CLIENT = Object.freeze({ id: 'demo-api', secret: 'demo-api-secret' });

export const DEFAULTS = Object.freeze({
  port: 4400,
  apiPort: 4500,
  // Deliberately the API port followed by one more digit: an origin check that compares string
  // prefixes ("http://localhost:4500" vs "http://localhost:45001") would wrongly match it.
  lookalikePort: 45001,
  appOrigins: ['http://localhost:4200'],
  accessTokenTtl: 300,
  idTokenTtl: 3600,
  refreshTokenTtl: 14 * 24 * 3600,
  sessionTtl: 14 * 24 * 3600,
});

export const TTL_KEYS = ['accessTokenTtl', 'idTokenTtl', 'refreshTokenTtl', 'sessionTtl'];

const ENV = {
  port: 'DEV_OP_PORT',
  apiPort: 'DEV_API_PORT',
  lookalikePort: 'DEV_LOOKALIKE_PORT',
  partnerPort: 'DEV_PARTNER_OP_PORT',
  appOrigins: 'DEV_APP_ORIGINS',
  testMode: 'DEV_OP_TEST_MODE',
  verbose: 'DEV_OP_VERBOSE',
  accessTokenTtl: 'DEV_OP_ACCESS_TOKEN_TTL',
  idTokenTtl: 'DEV_OP_ID_TOKEN_TTL',
  refreshTokenTtl: 'DEV_OP_REFRESH_TOKEN_TTL',
  sessionTtl: 'DEV_OP_SESSION_TTL',
};

export function positiveInteger(value, name) {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (!Number.isInteger(number) || number <= 0) {
    throw new TypeError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

function port(value, name) {
  const number = positiveInteger(value, name);
  if (number > 65535) throw new TypeError(`${name} must be a TCP port, got ${number}`);
  return number;
}

/**
 * The apps' URLs: a bare origin (`http://localhost:4200`), or an origin and the path of an app
 * served under a base href (`http://localhost:4802/app/`). Returns the base URLs without a
 * trailing slash; CORS uses their origins, redirect URIs their full base.
 */
function appUrls(value) {
  const list = Array.isArray(value) ? value : String(value).split(',');
  return list
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const url = new URL(entry);
      if (url.search || url.hash || url.username || url.password || entry.includes('?') || entry.includes('#')) {
        throw new TypeError(`app origin must be an origin, optionally with a base path (no query, fragment or credentials), got ${entry}`);
      }
      return `${url.origin}${url.pathname}`.replace(/\/$/, '');
    });
}

const flag = (value) => value === true || value === '1' || value === 'true';

export function resolveConfig(options = {}, env = process.env) {
  const pick = (key) => options[key] ?? env[ENV[key]] ?? DEFAULTS[key];
  const config = {
    port: port(pick('port'), 'port'),
    apiPort: port(pick('apiPort'), 'apiPort'),
    lookalikePort: port(pick('lookalikePort'), 'lookalikePort'),
    // The second OP: five ports above the first unless set, so that it moves with it (a port no
    // other rig or self-test uses).
    partnerPort: port(options.partnerPort ?? env[ENV.partnerPort] ?? Number(pick('port')) + 5, 'partnerPort'),
    appUrls: appUrls(pick('appOrigins')),
    testMode: flag(options.testMode ?? env[ENV.testMode]),
    verbose: flag(options.verbose ?? env[ENV.verbose]),
    ttl: {},
  };
  for (const key of TTL_KEYS) config.ttl[key] = positiveInteger(pick(key), key);
  if (config.appUrls.length === 0) throw new TypeError('at least one app origin is needed');
  config.appOrigins = [...new Set(config.appUrls.map((url) => new URL(url).origin))];
  return config;
}
