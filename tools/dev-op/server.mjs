#!/usr/bin/env node
// Dev OpenID Provider + protected demo API for the ngx-oidc-session workspace.
//
//   node tools/dev-op/server.mjs [--test] [--verbose] [--port=4400] [--api-port=4500] ...
//   npm run op -- --test
//
// Also importable: `await startDevEnvironment({ testMode: true })`. See README.md beside this file.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENT_IDS, DEFAULTS, resolveConfig } from './config.mjs';
import { listen } from './http-util.mjs';
import { createProvider, loginWithAcr } from './provider.mjs';
import { createStore } from './store.mjs';
import { sessionManagement } from './session-management.mjs';
import * as testHooks from './test-hooks.mjs';
import * as api from './api.mjs';

/**
 * Starts the dev OP and the demo API (plus the look-alike API in test mode).
 *
 * @param {object} [options] each falls back to its environment variable, then to the default
 * @param {number} [options.port] OP port (DEV_OP_PORT, 4400); the issuer is http://localhost:<port>
 * @param {number} [options.apiPort] demo API port (DEV_API_PORT, 4500)
 * @param {number} [options.partnerPort] second OP's port (DEV_PARTNER_OP_PORT; the OP port + 5, 4405)
 * @param {number} [options.lookalikePort] look-alike API port, test mode only (DEV_LOOKALIKE_PORT, 45001)
 * @param {string[] | string} [options.appOrigins] SPA origins (DEV_APP_ORIGINS, comma-separated; http://localhost:4200);
 *   an app served under a base href is named with its path (http://localhost:4802/app/)
 * @param {boolean} [options.testMode] enables /__test/* hooks and the look-alike API (DEV_OP_TEST_MODE=1)
 * @param {boolean} [options.verbose] one log line per request (DEV_OP_VERBOSE=1)
 * @param {number} [options.accessTokenTtl] seconds (DEV_OP_ACCESS_TOKEN_TTL, 300)
 * @param {number} [options.idTokenTtl] seconds (DEV_OP_ID_TOKEN_TTL, 3600)
 * @param {number} [options.refreshTokenTtl] seconds (DEV_OP_REFRESH_TOKEN_TTL, 14 days)
 * @param {number} [options.sessionTtl] OP browser session, seconds (DEV_OP_SESSION_TTL, 14 days)
 * @param {NodeJS.ProcessEnv} [options.env] where to read the variables (process.env)
 * @returns {Promise<{ issuer: string, partnerIssuer: string, apiUrl: string, lookalikeUrl?: string, appOrigins: string[], appUrls: string[],
 *   clientIds: typeof CLIENT_IDS, testMode: boolean, close(): Promise<void> }>}
 */
export async function startDevEnvironment(options = {}) {
  const { env = process.env, ...rest } = options;
  const config = resolveConfig(rest, env);

  const issuer = `http://localhost:${config.port}`;
  // A second OP for apps with several (withName()): its own keys, sessions and grants.
  const partnerIssuer = `http://localhost:${config.partnerPort}`;
  const apiUrl = `http://localhost:${config.apiPort}`;
  const lookalikeUrl = config.testMode ? `http://localhost:${config.lookalikePort}` : undefined;
  const log = config.verbose ? (line) => console.log(line) : undefined;

  const ttl = { ...config.ttl };
  const store = createStore();
  const state = config.testMode ? testHooks.createTestState(ttl) : undefined;
  const dpopNonceRequired = () => state?.dpop.opNonceRequired ?? true;
  const autoConfirmLogout = () => (state ? testHooks.autoConfirmsLogout(state) : false);
  const spaRefreshLifetime = () => state?.quirks.spaRefreshLifetime ?? null;
  const provider = createProvider({ issuer, appOrigins: config.appOrigins, appUrls: config.appUrls, ttl, store, dpopNonceRequired, autoConfirmLogout, apiAudience: apiUrl, spaRefreshLifetime });
  const partnerProvider = createProvider({ issuer: partnerIssuer, appOrigins: config.appOrigins, appUrls: config.appUrls, ttl, store: createStore(), cookiePrefix: 'partner' });

  if (log) {
    provider.use(async (ctx, next) => {
      try {
        await next();
      } finally {
        // The path only: query strings carry codes, states and tokens.
        log(`[op] ${ctx.method} ${ctx.path} ${ctx.respond === false ? 'dropped' : ctx.status}`);
      }
    });
  }
  if (state) {
    provider.use(
      testHooks.opTestMiddleware({ state, issuer, appOrigins: config.appOrigins, store, provider }),
    );
  }
  // Session Management and Front-Channel Logout (oidc-provider 9 has neither): after the test
  // middleware, so that its outages come first. The front-channel page only with its quirk in test mode.
  provider.use(sessionManagement(provider, { issuer, frontchannelLogout: () => state?.quirks.frontchannelLogout ?? true }));
  partnerProvider.use(sessionManagement(partnerProvider, { issuer: partnerIssuer, cookiePrefix: 'partner' }));
  provider.use(loginWithAcr(provider));
  partnerProvider.use(loginWithAcr(partnerProvider));
  partnerProvider.on('server_error', (ctx, error) => console.error(`[partner op] server error on ${ctx.path}:`, error));
  provider.on('server_error', (ctx, error) => console.error(`[op] server error on ${ctx.path}:`, error));

  const running = [];
  const close = async () => {
    state?.releaseHold(); // a held request would keep its connection, and close(), waiting
    await Promise.all(running.splice(0).map((server) => server.close()));
  };
  try {
    running.push(await listen(provider.callback(), config.port, 'dev OP'));
    running.push(
      await listen(
        api.createApiHandler({ issuer, partnerIssuer, apiUrl, appOrigins: config.appOrigins, state, log }),
        config.apiPort,
        'demo API',
      ),
    );
    running.push(await listen(partnerProvider.callback(), config.partnerPort, 'partner OP'));
    if (state) {
      running.push(
        await listen(
          api.createLookalikeHandler({ appOrigins: config.appOrigins, state, log }),
          config.lookalikePort,
          'look-alike API',
        ),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }

  return {
    issuer,
    partnerIssuer,
    apiUrl,
    lookalikeUrl,
    appOrigins: config.appOrigins,
    appUrls: config.appUrls,
    clientIds: CLIENT_IDS,
    testMode: config.testMode,
    close,
  };
}

const USAGE = `Usage: node tools/dev-op/server.mjs [options]

  --test                   enable /__test/* hooks and the look-alike API
  --verbose                log one line per request (never tokens)
  --port=N                 OP port (default ${DEFAULTS.port})
  --api-port=N             demo API port (default ${DEFAULTS.apiPort})
  --partner-port=N         second OP port (default: OP port + 5)
  --lookalike-port=N       look-alike API port, test mode (default ${DEFAULTS.lookalikePort})
  --app-origins=A,B        SPA origins, with the base path of an app under one (default ${DEFAULTS.appOrigins.join(',')})
  --access-token-ttl=N     seconds (default ${DEFAULTS.accessTokenTtl})
  --id-token-ttl=N         seconds (default ${DEFAULTS.idTokenTtl})
  --refresh-token-ttl=N    seconds (default ${DEFAULTS.refreshTokenTtl})
  --session-ttl=N          seconds (default ${DEFAULTS.sessionTtl})`;

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        test: { type: 'boolean' },
        verbose: { type: 'boolean' },
        port: { type: 'string' },
        'api-port': { type: 'string' },
        'partner-port': { type: 'string' },
        'lookalike-port': { type: 'string' },
        'app-origins': { type: 'string' },
        'access-token-ttl': { type: 'string' },
        'id-token-ttl': { type: 'string' },
        'refresh-token-ttl': { type: 'string' },
        'session-ttl': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }

  let environment;
  try {
    environment = await startDevEnvironment({
      testMode: values.test,
      verbose: values.verbose,
      port: values.port,
      apiPort: values['api-port'],
      partnerPort: values['partner-port'],
      lookalikePort: values['lookalike-port'],
      appOrigins: values['app-origins'],
      accessTokenTtl: values['access-token-ttl'],
      idTokenTtl: values['id-token-ttl'],
      refreshTokenTtl: values['refresh-token-ttl'],
      sessionTtl: values['session-ttl'],
    });
  } catch (error) {
    console.error(`dev OP: ${error.message}`);
    process.exit(1);
  }

  const { issuer, apiUrl, lookalikeUrl, clientIds } = environment;
  console.log(
    [
      `Dev OpenID Provider  ${issuer}${environment.testMode ? '  (test mode: /__test/* hooks on)' : ''}`,
      `Demo API             ${apiUrl}/api/hello`,
      `Partner OP and API   ${environment.partnerIssuer}  ${apiUrl}/partner-api/hello`,
      ...(lookalikeUrl ? [`Look-alike API       ${lookalikeUrl}`] : []),
      `Clients              ${Object.values(clientIds).join(', ')} (public, PKCE)`,
      `App origins          ${environment.appUrls.join(', ')}`,
      'Sign in with any username and password.',
    ].join('\n'),
  );

  let closing = false;
  const shutdown = async (signal) => {
    if (closing) process.exit(1); // a second Ctrl+C means "now"
    closing = true;
    console.log(`\n${signal}: stopping the dev OP`);
    await environment.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

const invokedDirectly =
  process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) await main();
