import { AuthConfig } from 'ngx-oidc-session';

/** The dev OpenID Provider and demo API that `npm start` runs (tools/dev-op). */
export const DEV_OP = 'http://localhost:4400';
export const DEMO_API = 'http://localhost:4500/api';
/** Runs with the test rig only: an origin that shares the API port's prefix, to show the token never goes there. */
export const LOOKALIKE_API = 'http://localhost:45001/api';

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

export function demoAuthConfig(strategy: DemoStrategy): AuthConfig {
  return {
    authority: DEV_OP,
    // The iframe client has no refresh-token grant, so the demo shows the iframe renewal for real.
    clientId: strategy === 'iframe' ? 'ngx-oidc-demo-no-refresh' : 'ngx-oidc-demo',
    redirectUrl: '/',
    postLogoutRedirectUrl: '/',
    scope: 'openid profile email',
    loadUserInfo: true,
    renew: { strategy, silentRenewUrl: '/silent-renew.html', leadTimeSeconds: 60 },
    secureApis: [DEMO_API],
  };
}
