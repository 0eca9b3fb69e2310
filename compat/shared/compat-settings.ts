import { AuthConfig } from 'ngx-oidc-session';

/** The dev OP and API of the compat and SSR suites: their own ports, beside the e2e rig's. */
export const COMPAT_OP = 'http://localhost:4600';
export const COMPAT_API = 'http://localhost:4700/api';

/**
 * The same config in every major. The OP returns to the app's base URL, so an app served
 * under a base href (the Angular 22 app, at /app/) comes back under it.
 */
export function compatAuthConfig(): AuthConfig {
  const base = document.baseURI;
  return {
    authority: COMPAT_OP,
    clientId: 'ngx-oidc-demo',
    redirectUrl: base,
    postLogoutRedirectUrl: base,
    secureApis: [COMPAT_API],
    renew: { strategy: 'refresh_token' },
  };
}
