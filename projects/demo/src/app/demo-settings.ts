import { AuthConfig, LogoutOptions, LogoutResult } from 'ngx-oidc-session';

/**
 * The port the demo is served on: 4200 under `npm start`. The e2e rig serves this same build
 * on another port set in each Playwright worker (e2e/support.mjs), so the dev OP and the demo
 * API follow the page's own port at run time rather than being constants of the build.
 */
function demoAppPort(): number {
  const port = Number(globalThis.location?.port);
  return Number.isInteger(port) && port > 0 ? port : 4200;
}
const DEMO_API_PORT = demoAppPort() + 300;

/** The dev OpenID Provider and demo API that `npm start` runs (tools/dev-op): 4400 and 4500 beside 4200. */
export const DEV_OP = `http://localhost:${demoAppPort() + 200}`;
export const DEMO_API = `http://localhost:${DEMO_API_PORT}/api`;
/**
 * Runs with the test rig only: an origin that shares the API port's prefix (the API port
 * followed by one more digit, 45001 beside 4500), to show the token never goes there.
 */
export const LOOKALIKE_API = `http://localhost:${DEMO_API_PORT}1/api`;
/** The second OP and its API, for the "Partner OP" section (several OPs in one app, withName()): five ports above the OP. */
export const PARTNER_OP = `http://localhost:${demoAppPort() + 205}`;
export const PARTNER_API = `http://localhost:${DEMO_API_PORT}/partner-api`;

/**
 * The app's own API as a relative URL: the browser sends it under the page's `<base href>`
 * (`/app/api/...` when the demo is served under /app/), and the token goes there because that
 * URL, resolved the same way, is in secureApis. `/api/...` from a page under /app/ is not.
 */
export const OWN_API_RELATIVE = 'api';

export type DemoStrategy = 'refresh_token' | 'iframe';
const STRATEGY_KEY = 'ngx-oidc-session-demo:strategy';

/** The renew strategy the demo runs with; switchable in the page, kept for this tab. */
export function demoStrategy(): DemoStrategy {
  const stored = globalThis.sessionStorage?.getItem(STRATEGY_KEY);
  return stored === 'iframe' ? 'iframe' : 'refresh_token';
}

export function switchDemoStrategy(strategy: DemoStrategy): void {
  globalThis.sessionStorage?.setItem(STRATEGY_KEY, strategy);
}

const SILENT_SIGN_IN_KEY = 'ngx-oidc-session-demo:silent-sign-in';

/**
 * Whether the demo tries a silent sign-in at start-up (withSilentSignIn). Off by default and
 * kept in localStorage, so that a new tab of the same browser shows it: sign in, close the tab,
 * open the demo again, and the OP's session signs you in without a redirect.
 */
export function demoSilentSignIn(): boolean {
  return storedSwitch(SILENT_SIGN_IN_KEY);
}

export function switchDemoSilentSignIn(on: boolean): void {
  setStoredSwitch(SILENT_SIGN_IN_KEY, on);
}

const DPOP_KEY = 'ngx-oidc-session-demo:dpop';

/**
 * Whether the demo asks for DPoP-bound tokens (withDPoP(), RFC 9449). Off by default and kept
 * in localStorage, as every tab of the browser shares the session and its key. Switching it
 * signs the user out in effect: a session of the other token type is not used.
 */
export function demoDPoP(): boolean {
  return storedSwitch(DPOP_KEY);
}

export function switchDemoDPoP(on: boolean): void {
  setStoredSwitch(DPOP_KEY, on);
}

const SESSION_MONITOR_KEY = 'ngx-oidc-session-demo:session-monitor';

/**
 * Whether the demo watches the session at the OP (withSessionMonitor(): check_session iframe and
 * front-channel logout). Off by default and kept in localStorage, like the other switches.
 */
export function demoSessionMonitor(): boolean {
  return storedSwitch(SESSION_MONITOR_KEY);
}

export function switchDemoSessionMonitor(on: boolean): void {
  setStoredSwitch(SESSION_MONITOR_KEY, on);
}

/** A demo switch kept in localStorage: on when its key holds 'on', off (absent) by default. */
function storedSwitch(key: string): boolean {
  return globalThis.localStorage?.getItem(key) === 'on';
}

function setStoredSwitch(key: string, on: boolean): void {
  if (on) globalThis.localStorage?.setItem(key, 'on');
  else globalThis.localStorage?.removeItem(key);
}

/**
 * TEST ONLY: a bad config for this tab, which e2e/config-checks.test.mjs writes to
 * sessionStorage before the page loads, to show that the production build refuses it. The demo
 * never writes it; without it the demo runs its own config.
 */
const TEST_OVERRIDE_KEY = 'ngx-oidc-session-demo:test-override';
export interface TestOverride {
  readonly config?: Partial<AuthConfig>;
  readonly logout?: LogoutOptions;
}

export function testOverride(): TestOverride {
  try {
    return JSON.parse(globalThis.sessionStorage?.getItem(TEST_OVERRIDE_KEY) ?? '{}') as TestOverride;
  } catch {
    return {};
  }
}

export function demoAuthConfig(strategy: DemoStrategy): AuthConfig {
  const config = ownAuthConfig(strategy);
  const override = testOverride().config ?? {};
  return { ...config, ...override, renew: { ...config.renew, ...override.renew } };
}

function ownAuthConfig(strategy: DemoStrategy): AuthConfig {
  // The app's URLs follow its base href, so the same build runs at / and under /app/.
  const base = document.baseURI;
  return {
    authority: DEV_OP,
    // The iframe client has no refresh-token grant, so the demo shows the iframe renewal for real.
    clientId: strategy === 'iframe' ? 'ngx-oidc-demo-no-refresh' : 'ngx-oidc-demo',
    redirectUrl: base,
    postLogoutRedirectUrl: base,
    scope: 'openid profile email',
    loadUserInfo: true,
    renew: { strategy, silentRenewUrl: new URL('silent-renew.html', base).href, leadTimeSeconds: 60 },
    secureApis: [DEMO_API, new URL(OWN_API_RELATIVE, base).href],
  };
}

/**
 * The "partner" instance: another OP and client, beside the demo's own sign-in. It has a
 * redirect URL of its own, registered at the partner OP only (a response of one OP at another
 * instance's URL is refused: mix-up attacks, RFC 9700 4.4), and calls its own API.
 */
export function partnerAuthConfig(): AuthConfig {
  const base = document.baseURI;
  return {
    authority: PARTNER_OP,
    clientId: 'ngx-oidc-demo-partner',
    redirectUrl: new URL('?op=partner', base).href,
    postLogoutRedirectUrl: base,
    scope: 'openid profile',
    secureApis: [PARTNER_API],
  };
}

const LAST_LOGOUT_KEY = 'ngx-oidc-session-demo:last-logout';

/** What the demo shows of a logout's result: whether the refresh token was revoked, and the error code (never a token). */
export interface LogoutSummary {
  readonly outcome: LogoutResult['outcome'];
  readonly refreshTokenRevoked: boolean;
  readonly error: string | null;
}

/** Kept for this tab: a logout that goes to the OP's end-session page shows its result on return. */
export function rememberLogout(result: LogoutResult): LogoutSummary {
  const summary: LogoutSummary = { outcome: result.outcome, refreshTokenRevoked: result.refreshTokenRevoked, error: result.error?.code ?? null };
  globalThis.sessionStorage?.setItem(LAST_LOGOUT_KEY, JSON.stringify(summary));
  return summary;
}

export function lastLogout(): LogoutSummary | null {
  try {
    return JSON.parse(globalThis.sessionStorage?.getItem(LAST_LOGOUT_KEY) ?? 'null') as LogoutSummary | null;
  } catch {
    return null;
  }
}
