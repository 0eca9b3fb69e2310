// The oidc-provider instance: clients, features, lifetimes and keys of the dev OpenID Provider.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { API_CLIENT, CLIENT_IDS } from './config.mjs';
import { FRONTCHANNEL_LOGOUT_PAGE } from './session-management.mjs';

// Spelled out (they equal oidc-provider's defaults) because the test hooks map request paths to
// endpoint names and must stay in step with the provider.
export const ROUTES = Object.freeze({
  authorization: '/auth',
  end_session: '/session/end',
  introspection: '/token/introspection',
  jwks: '/jwks',
  pushed_authorization_request: '/request',
  revocation: '/token/revocation',
  token: '/token',
  userinfo: '/me',
});

/** The dev OP's authentication levels: a password, or a password and a (pretended) second factor. */
export const ACR_VALUES = ['urn:dev-op:loa:1', 'urn:dev-op:loa:2'];
const AMR_OF = { 'urn:dev-op:loa:1': ['pwd'], 'urn:dev-op:loa:2': ['pwd', 'otp'] };

const SPA_CLIENTS = [
  { client_id: CLIENT_IDS.rotating, refresh: true, client_name: 'ngx-oidc demo' },
  { client_id: CLIENT_IDS.nonRotating, refresh: true, client_name: 'ngx-oidc demo (no rotation)' },
  { client_id: CLIENT_IDS.noRefresh, refresh: false, client_name: 'ngx-oidc demo (no refresh)' },
  // Redirect URIs of its own (RFC 9700 4.4.2): an app's partner instance must not share the demo's.
  { client_id: CLIENT_IDS.partner, refresh: true, client_name: 'ngx-oidc demo (partner)', redirectQuery: '?op=partner' },
];

/**
 * An app's redirect URIs; `base` is its origin, or origin and base path, without a trailing
 * slash; `query` (`?op=partner`) makes them those of one auth instance of the app.
 */
export function redirectUrisFor(base, query = '') {
  return [`${base}/${query}`, `${base}/silent-renew.html${query}`];
}

function clients(appUrls) {
  const spa = SPA_CLIENTS.map(({ client_id, client_name, refresh, redirectQuery }) => ({
    client_id,
    client_name,
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    response_types: ['code'],
    grant_types: refresh ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    redirect_uris: appUrls.flatMap((base) => redirectUrisFor(base, redirectQuery)),
    post_logout_redirect_uris: appUrls.map((base) => `${base}/`),
    // Front-Channel Logout 1.0 (session-management.mjs): the default instance's clients of the
    // demo, on the first app URL (a client has one such URI).
    ...(redirectQuery ? {} : { frontchannel_logout_uri: `${appUrls[0]}/${FRONTCHANNEL_LOGOUT_PAGE}`, frontchannel_logout_session_required: true }),
  }));
  // A resource server identity: it only authenticates to the introspection endpoint.
  const api = {
    client_id: API_CLIENT.id,
    client_secret: API_CLIENT.secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  };
  return [...spa, api];
}

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  // Random kids make a restarted OP's keys distinguishable from a cached JWKS in the app.
  const kid = () => randomBytes(6).toString('base64url');
  return {
    keys: [
      { ...rsa, kid: `rs256-${kid()}`, alg: 'RS256', use: 'sig' },
      { ...ec, kid: `es256-${kid()}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

function account(sub) {
  const local = sub.includes('@') ? sub.slice(0, sub.indexOf('@')) : sub;
  const given = local.charAt(0).toUpperCase() + local.slice(1);
  return {
    accountId: sub,
    claims: async () => ({
      sub,
      name: `${given} Developer`,
      given_name: given,
      family_name: 'Developer',
      preferred_username: local,
      email: sub.includes('@') ? sub : `${local}@example.com`,
      email_verified: true,
    }),
  };
}

const page = (title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.6rem;font-size:1rem;cursor:pointer}</style>
</head><body>${body}</body></html>`;

const escapeHtml = (value) =>
  String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @param {object} params
 * @param {string} params.issuer
 * @param {string[]} params.appOrigins the apps' origins, for CORS
 * @param {string[]} [params.appUrls] the apps' base URLs (origin, or origin and base path), for
 *   redirect URIs; the origins by default
 * @param {{ accessTokenTtl: number, idTokenTtl: number, refreshTokenTtl: number, sessionTtl: number }} params.ttl
 *   read on every issuance, so the test hooks can change lifetimes while the OP runs
 * @param {ReturnType<import('./store.mjs').createStore>} params.store
 * @param {string} [params.cookiePrefix] prefix of the OP's cookie names, for a second OP on the same host
 * @param {() => boolean} [params.autoConfirmLogout] whether RP-initiated logout ends the session
 *   without asking (the test hooks' vendor logout routes hand over to it)
 * @param {string} [params.apiAudience] the demo API's identifier: a `resource` (RFC 8707) naming it
 *   gets a JWT access token with that `aud`; no other resource is known
 */
export function createProvider({ issuer, appOrigins, appUrls = appOrigins, ttl, store, cookiePrefix = '', dpopNonceRequired = () => true, autoConfirmLogout = () => false, apiAudience, spaRefreshLifetime = () => null }) {
  const allowedOrigins = new Set(appOrigins);

  const configuration = {
    adapter: store.adapter,
    clients: clients(appUrls),
    jwks: signingKeys(),
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Cookies are per host, not per port: a second OP on localhost needs names of its own, or
      // each OP's sign-in would overwrite the other's session cookie.
      names: { session: `${cookiePrefix}_session`, interaction: `${cookiePrefix}_interaction`, resume: `${cookiePrefix}_interaction_resume` },
    },
    routes: ROUTES,
    // Front-Channel Logout 1.0 client metadata, which oidc-provider 9 no longer knows (see session-management.mjs).
    extraClientMetadata: { properties: ['frontchannel_logout_uri', 'frontchannel_logout_session_required'] },
    responseTypes: ['code'],
    // Step-up: the dev login grants the first of these the app asks for in acr_values (see
    // loginWithAcr), else the first one; an unknown value is ignored, as acr_values is a
    // voluntary request (OIDC Core 3.1.2.1). max_age needs nothing: oidc-provider asks for a
    // new login when the last one is older, and the ID token then carries auth_time.
    acrValues: ACR_VALUES,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
      sid: null,
      auth_time: null,
    },
    // The demo shows the user's name straight from the ID token, as most hosted OPs allow.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: async (ctx, sub) => account(sub),
    // A SPA cannot keep a secret, so every code grant gets a refresh token when the client may
    // use one, without the offline_access consent dance.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: (ctx) => ctx.oidc.client.clientId !== CLIENT_IDS.nonRotating,
    // Tokens must outlive the OP browser session: the end-sessions hook (and a user clearing
    // cookies) must not silently revoke what the app already holds. The price: oidc-provider
    // then treats every grant as "offline" and keeps it on logout, so revokeOnLogout does that.
    expiresWithSession: async () => false,
    clientBasedCORS: (ctx, origin) => allowedOrigins.has(origin),
    ttl: {
      AccessToken: () => ttl.accessTokenTtl,
      IdToken: () => ttl.idTokenTtl,
      AuthorizationCode: () => 60,
      Interaction: () => 3600,
      Session: () => ttl.sessionTtl,
      Grant: () => Math.max(ttl.refreshTokenTtl, ttl.sessionTtl),
      RefreshToken: (ctx, token, client) => {
        // A rotated token inherits what is left of its predecessor's life, so rotation
        // cannot extend a public client's session forever (oidc-provider's default policy).
        const rotated = ctx?.oidc?.entities?.RotatedRefreshToken;
        if (rotated && client.clientAuthMethod === 'none') return rotated.remainingTTL;
        // A fixed life for the public clients' refresh tokens (Entra ID's 24 hours for SPAs),
        // which the rule above keeps from being extended by rotation.
        if (client.clientAuthMethod === 'none' && spaRefreshLifetime()) return spaRefreshLifetime();
        return ttl.refreshTokenTtl;
      },
    },
    features: {
      devInteractions: { enabled: true },
      // RFC 8707, for the demo API only: a request without `resource` keeps today's opaque,
      // introspected access token (and userinfo); one naming the API gets a JWT for it, and so
      // does every refresh of that grant (useGrantedResource). The test hooks' audience quirk
      // maps Auth0's `audience` parameter onto `resource`.
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (!apiAudience || resource !== apiAudience) throw new errors.InvalidTarget();
          return { scope: 'api:read', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: ttl.accessTokenTtl };
        },
      },
      userinfo: { enabled: true },
      // RFC 9449, optional for every client (no client has dpop_bound_access_tokens, so bearer
      // tokens keep working): a token request with a DPoP proof gets a DPoP-bound access token
      // (token_type DPoP, cnf.jkt at introspection) and, for these public clients, a refresh
      // token bound to the same key (RFC 9449 5). Server nonces are on and required, as at a
      // strict deployment (RFC 9449 8): a proof without a current nonce gets 400 use_dpop_nonce
      // and a DPoP-Nonce header (401 at userinfo). The secret is per start; nonces change every
      // minute and stay valid a few minutes (oidc-provider's window). The test hooks can turn
      // the nonce requirement off (dpopNonceRequired).
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => dpopNonceRequired(),
      },
      // RFC 9126, on for every client (the default of oidc-provider 9, spelled out because the
      // library uses it whenever the discovery document offers it). Its CORS is client-based,
      // like the token endpoint's (clientBasedCORS above). The test hooks can hide or require it.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Only the API may look at tokens, and it may look at every client's tokens.
        allowedPolicy: async (ctx, client) => client.clientId === API_CLIENT.id,
      },
      rpInitiatedLogout: {
        enabled: true,
        // Same selectors as oidc-provider's stock page: form#op.logoutForm and
        // button[name=logout][value=yes]; the second button keeps the session.
        logoutSource: async (ctx, form) => {
          if (autoConfirmLogout()) {
            // "Yes, sign me out", submitted by the page itself: the answer of a vendor logout route.
            ctx.body = page(
              'Signing out',
              `${form}<input type="hidden" form="op.logoutForm" name="logout" value="yes"><script>document.getElementById('op.logoutForm').submit()</script>`,
            );
            return;
          }
          ctx.body = page(
            'Sign out',
            `<h1>Sign out of ${escapeHtml(ctx.host)}?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have been signed out of the dev OP.</p>');
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const rows = Object.entries(out)
        .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
        .join('');
      ctx.body = page('Dev OP error', `<h1>Something went wrong</h1>${rows}`);
    },
  };

  // oidc-provider warns on stderr that devInteractions are not for production. They are the
  // point of this tool, so that one start-up line is muted.
  const warn = console.warn;
  console.warn = (...args) => {
    if (/devInteractions is enabled/.test(String(args[0]))) return;
    warn(...args);
  };
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } finally {
    console.warn = warn;
  }
  // Everything runs on plain http://localhost, never behind a proxy.
  provider.proxy = false;
  // Front-Channel Logout 1.0 3: a client that requires the session gets `sid` in its ID tokens
  // (oidc-provider includes it only for back-channel logout clients).
  const includeSid = provider.Client.prototype.includeSid;
  provider.Client.prototype.includeSid = function includeSidForFrontchannel() {
    return includeSid.call(this) || Boolean(this.frontchannel_logout_uri && this.frontchannel_logout_session_required);
  };
  provider.use(revokeOnLogout(provider, store));
  return provider;
}

/**
 * The dev login (any user and password), answered here rather than by devInteractions so that
 * the login carries `acr` and `amr`: the first requested acr_values entry the OP knows, else
 * the lowest level. Install it after the test middleware, so outages of the interaction
 * endpoint still apply.
 */
export function loginWithAcr(provider) {
  const submit = /^\/interaction\/[^/]+$/;
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !submit.test(ctx.path) || !ctx.is('urlencoded')) return next();
    // The consent form posts here too: only a login prompt is answered here, before its body is read.
    const details = await provider.interactionDetails(ctx.req, ctx.res).catch(() => null);
    if (details?.prompt.name !== 'login') return next();
    const { params } = details;
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (form.get('prompt') !== 'login' || !form.get('login')) {
      ctx.status = 400;
      ctx.body = 'the dev OP expects its own login form here';
      return undefined;
    }
    const requested = String(params.acr_values ?? '').split(' ');
    const acr = requested.find((value) => ACR_VALUES.includes(value)) ?? ACR_VALUES[0];
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.get('login'), acr, amr: AMR_OF[acr] } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return undefined;
  };
}

/**
 * RP-initiated logout revokes grants like an OP whose tokens are session-bound would: "Yes, sign
 * me out" revokes every grant of the session, "No, stay signed in" only the requesting client's.
 * The session's grants are read before oidc-provider destroys or edits the session.
 */
function revokeOnLogout(provider, store) {
  const confirmPath = `${ROUTES.end_session}/confirm`;
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== confirmPath) return next();
    const session = await provider.Session.get(ctx);
    const grants = Object.entries(session.authorizations ?? {}).map(([clientId, { grantId }]) => ({
      clientId,
      grantId,
    }));
    await next();
    if (ctx.status !== 303 || !ctx.oidc) return;
    const everything = Boolean(ctx.oidc.params?.logout);
    const clientId = ctx.oidc.entities.Client?.clientId;
    for (const grant of grants) {
      if (grant.grantId && (everything || grant.clientId === clientId)) store.revokeGrant(grant.grantId);
    }
  };
}
