// OpenID Connect Session Management 1.0 and Front-Channel Logout 1.0 for the dev OP.
// oidc-provider 9 dropped both features, so this module does them itself, as an OP that still
// offers them (Keycloak, for one) does:
// - a browser-state cookie that JavaScript on the OP's origin can read, derived from
//   oidc-provider's session (id, account, login time) and set again on every response of the
//   authorization and end-session endpoints, so that it changes at sign-in, re-authentication,
//   account switch and sign-out;
// - `session_state` in every authorization response (code and error), computed for the origin
//   of the redirect URI (Session Management 3);
// - the check_session iframe page (Session Management 3.2), advertised in discovery;
// - at a confirmed end-session, a page that loads each signed-in client's
//   frontchannel_logout_uri with `iss` and `sid` in hidden iframes, then goes on to where
//   oidc-provider was sending the browser (Front-Channel Logout 2, 4).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { ROUTES } from './provider.mjs';

export const CHECK_SESSION_PATH = '/session/check';
/** The app's static page the OP loads at logout (the library ships it beside silent-renew.html). */
export const FRONTCHANNEL_LOGOUT_PAGE = 'frontchannel-logout.html';
/** How long the logout page waits for the front-channel iframes before it goes on anyway. */
const FRONTCHANNEL_WAIT_MS = 5_000;

/** The browser-state cookie's name: per OP, as the session cookie's (a second OP on the same host has its own). */
export const browserStateCookie = (cookiePrefix = '') => `${cookiePrefix}_browser_state`;

/**
 * Session Management 3: `hash(client_id + " " + origin + " " + browser_state + " " + salt) + "." + salt`,
 * with SHA-256 and base64url, as the check_session page computes it again in the browser.
 */
export function computeSessionState(clientId, origin, browserState, salt = randomBytes(8).toString('base64url')) {
  const hash = createHash('sha256').update(`${clientId} ${origin} ${browserState} ${salt}`).digest('base64url');
  return `${hash}.${salt}`;
}

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The check_session iframe (Session Management 3.2): answers a postMessage of
 * `client_id + " " + session_state` with `unchanged`, `changed` or `error`, to the sender's
 * origin. It reads the browser state from its cookie: where the browser withholds the OP's
 * cookies from a frame on another site, it sees none, and answers `changed`.
 */
function checkSessionPage(cookieName) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>check session</title></head><body><script>
(function () {
  var name = ${JSON.stringify(cookieName)} + '=';
  function browserState() {
    var found = document.cookie.split('; ').filter(function (entry) { return entry.indexOf(name) === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length)) : '';
  }
  function base64url(buffer) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  window.addEventListener('message', function (event) {
    if (!event.source || typeof event.data !== 'string') return;
    var reply = function (answer) { event.source.postMessage(answer, event.origin); };
    var space = event.data.lastIndexOf(' ');
    var clientId = event.data.slice(0, space);
    var sessionState = event.data.slice(space + 1);
    var dot = sessionState.lastIndexOf('.');
    if (space < 1 || dot < 1 || dot === sessionState.length - 1) return reply('error');
    var salt = sessionState.slice(dot + 1);
    var text = clientId + ' ' + event.origin + ' ' + browserState() + ' ' + salt;
    crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)).then(function (hash) {
      reply(base64url(hash) + '.' + salt === sessionState ? 'unchanged' : 'changed');
    }, function () { reply('error'); });
  });
})();
</script></body></html>`;
}

/** The page that loads the front-channel logout iframes, then goes on to `target`. */
function frontchannelPage(iframes, target) {
  const frames = iframes.map((src) => `<iframe title="sign-out" src="${escapeHtml(src)}" style="width:0;height:0;border:0;visibility:hidden"></iframe>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head><body>
<p>Signing out of the apps of this session…</p>
${frames}
<script>
(function () {
  var target = ${JSON.stringify(target)};
  var frames = document.querySelectorAll('iframe');
  var left = frames.length;
  var done = false;
  function go() { if (!done) { done = true; window.location.replace(target); } }
  frames.forEach(function (frame) { frame.addEventListener('load', function () { if (--left === 0) go(); }); });
  setTimeout(go, ${FRONTCHANNEL_WAIT_MS});
  if (left === 0) go();
})();
</script></body></html>`;
}

/** Where a path is among the endpoints whose responses this module shapes. */
function endpointOf(path) {
  if (path === ROUTES.authorization || path.startsWith(`${ROUTES.authorization}/`)) return 'authorize';
  if (path === ROUTES.end_session || path.startsWith(`${ROUTES.end_session}/`)) return 'end_session';
  if (path.startsWith('/.well-known/openid-configuration')) return 'discovery';
  return undefined;
}

/**
 * Koa middleware for one oidc-provider instance (install it with provider.use, like the test
 * middleware). `frontchannelLogout()` says whether a confirmed logout shows the front-channel
 * page (a test-mode quirk; always outside test mode).
 */
export function sessionManagement(provider, { issuer, cookiePrefix = '', frontchannelLogout = () => true }) {
  const cookieName = browserStateCookie(cookiePrefix);
  // Per start: the browser state says nothing about the session id it is derived from.
  const secret = randomBytes(32);
  const browserStateOf = (session) =>
    session?.accountId && !session.destroyed ? createHmac('sha256', secret).update(`${session.id}|${session.accountId}|${session.loginTs}`).digest('base64url') : '';
  const confirmPath = `${ROUTES.end_session}/confirm`;

  /** The clients of the session with a front-channel logout URI, and the sid each was given. */
  async function frontchannelClients(ctx) {
    const session = await provider.Session.get(ctx);
    const clients = [];
    for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
      const client = await provider.Client.find(clientId).catch(() => undefined);
      if (client?.frontchannel_logout_uri) clients.push({ client, sid: authorization.sid });
    }
    return clients;
  }

  return async function sessionManagementMiddleware(ctx, next) {
    if (ctx.method === 'GET' && ctx.path === CHECK_SESSION_PATH) {
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = checkSessionPage(cookieName);
      return undefined;
    }
    const endpoint = endpointOf(ctx.path);
    const loggingOut = ctx.method === 'POST' && ctx.path === confirmPath && frontchannelLogout() ? await frontchannelClients(ctx) : null;
    await next();
    // "Yes, sign me out" ends the whole OP session; "No" only the requesting client's part of it.
    const endedSession = Boolean(ctx.oidc?.params?.logout);
    if (endpoint === 'discovery') {
      if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
        ctx.body = { ...ctx.body, check_session_iframe: `${issuer}${CHECK_SESSION_PATH}`, frontchannel_logout_supported: true, frontchannel_logout_session_supported: true };
      }
      return undefined;
    }
    if (!endpoint) return undefined;
    let session;
    try {
      session = ctx.oidc?.session;
    } catch {
      session = undefined;
    }
    if (!session) return undefined;
    const browserState = browserStateOf(session);
    // Readable by the check_session page (not httpOnly), SameSite=Lax like the session cookie:
    // withheld from a frame on another site exactly when the session cookie is.
    ctx.cookies.set(cookieName, browserState || null, { httpOnly: false, sameSite: 'lax', overwrite: true, path: '/' });

    const location = ctx.response.get('Location');
    const clientId = ctx.oidc?.client?.clientId;
    if (endpoint === 'authorize' && ctx.status >= 300 && ctx.status < 400 && location && clientId) {
      const url = new URL(location, issuer);
      if (url.origin !== new URL(issuer).origin && (url.searchParams.has('code') || url.searchParams.has('error'))) {
        url.searchParams.set('session_state', computeSessionState(clientId, url.origin, browserState));
        const status = ctx.status;
        ctx.redirect(url.href);
        ctx.status = status;
      }
    }
    if (loggingOut?.length && endedSession && ctx.status === 303 && location) {
      const iframes = loggingOut.map(({ client, sid }) => {
        const url = new URL(client.frontchannel_logout_uri);
        if (client.frontchannel_logout_session_required) {
          url.searchParams.set('iss', issuer);
          if (sid) url.searchParams.set('sid', sid);
        }
        return url.href;
      });
      ctx.remove('Location');
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = frontchannelPage(iframes, new URL(location, issuer).href);
    }
    return undefined;
  };
}
