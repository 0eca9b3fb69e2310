import { AuthError } from '../core/errors';
import { Clock } from '../platform/clock';
import { isResponseAt } from '../state/callback-url';
import { AuthorizationAttempt } from '../state/sign-in-attempts';

/** A response that arrived at another page than its request's redirect_uri: its code is not redeemed. */
export function callbackUrlMismatch(): AuthError {
  return new AuthError('callback_url_mismatch', ngDevMode ? 'The authorization response arrived at another URL than the redirect_uri of its request (RFC 9700 4.4.2).' : '');
}

/** The message silent-renew.html posts to its parent. */
export const SILENT_RENEW_MESSAGE = 'ngx-oidc-session:silent-renew';

/**
 * Runs one silent authorization request (prompt=none) in a hidden iframe that lands on the
 * app's static silent-renew.html, and resolves with the response URL. The response is taken
 * only from our own origin, only from our iframe, and only for this attempt's state; a stale
 * response of an earlier attempt is ignored. One that lands on another page than the attempt's
 * redirect URI is refused (RFC 9700 4.4.2, mix-up). `cancel` removes the iframe (logout).
 */
export function runSilentIframe(
  window: Window,
  url: URL,
  attempt: Pick<AuthorizationAttempt, 'state' | 'redirectUri'>,
  timeoutMs: number,
  clock: Clock,
): { readonly response: Promise<URL>; readonly cancel: (superseded?: boolean) => void } {
  const document = window.document;
  const appOrigin = window.location.origin;
  let cancel!: (superseded?: boolean) => void;
  const response = new Promise<URL>((resolve, reject) => {
    const iframe = document.createElement('iframe');
    iframe.setAttribute('aria-hidden', 'true');
    iframe.setAttribute('tabindex', '-1');
    iframe.title = 'silent sign-in';
    iframe.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
    const cleanUp = () => {
      window.removeEventListener('message', onMessage);
      window.removeEventListener('online', onOnline);
      clock.clearTimeout(timer);
      iframe.remove();
    };
    const onMessage = (event: MessageEvent) => {
      if (event.origin !== appOrigin || event.source !== iframe.contentWindow) return;
      const data = event.data as { type?: unknown; url?: unknown } | null;
      if (data?.type !== SILENT_RENEW_MESSAGE || typeof data.url !== 'string') return;
      let url: URL;
      try {
        url = new URL(data.url);
      } catch {
        return;
      }
      if (url.origin !== appOrigin || url.searchParams.get('state') !== attempt.state) return;
      cleanUp();
      if (isResponseAt(url, attempt.redirectUri)) resolve(url);
      else reject(callbackUrlMismatch());
    };
    // A logout cancels for good; a newer silent attempt (a renewal and a session check, where no
    // cross-tab lock serialises them) cancels as retryable: the OP's session was not asked about.
    cancel = (superseded = false) => {
      cleanUp();
      reject(new AuthError('no_session', ngDevMode ? 'The silent renewal was cancelled.' : '', superseded));
    };
    // An iframe loaded while offline shows the browser's error page and never answers: it is
    // abandoned when the browser comes back online, so that the renewal made then does not
    // wait for this one's timeout. (navigator.onLine is not trusted to refuse one at the start:
    // it says false wherever only loopback is up, although an OP on localhost answers.)
    const onOnline = () => {
      cleanUp();
      reject(new AuthError('network_error', ngDevMode ? 'The silent renewal was abandoned when the browser came back online.' : '', true));
    };
    const timer = clock.setTimeout(() => {
      cleanUp();
      reject(new AuthError('timeout', ngDevMode ? 'The silent renewal in the hidden iframe did not answer in time.' : '', true));
    }, timeoutMs);
    window.addEventListener('message', onMessage);
    window.addEventListener('online', onOnline);
    iframe.src = url.href;
    document.body.appendChild(iframe);
  });
  return { response, cancel };
}
