import { Injectable, inject } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthError } from '../errors';
import { OidcProtocol } from '../protocol/oidc-protocol';
import { AuthBrowser } from '../session/browser';
import { Session } from '../session/session';
import { AUTH_CLOCK } from '../time/clock';

/** The message silent-renew.html posts to its parent. */
export const SILENT_RENEW_MESSAGE = 'ngx-oidc-session:silent-renew';

/**
 * Renews by a silent authorization request (prompt=none) in a hidden iframe that lands on
 * the app's static silent-renew.html. Each attempt has its own state, nonce and PKCE pair;
 * the response is taken only from our own origin, only from our iframe, and only for the
 * attempt we started.
 */
@Injectable({ providedIn: 'root' })
export class IframeRenewer {
  private readonly config = inject(AUTH_CONFIG);
  private readonly protocol = inject(OidcProtocol);
  private readonly browser = inject(AuthBrowser);
  private readonly clock = inject(AUTH_CLOCK);
  private cancelCurrent: (() => void) | null = null;

  async renew(session: Session): Promise<Session> {
    const window = this.browser.window;
    const silentRenewUrl = this.config.renew.silentRenewUrl;
    if (!window || !silentRenewUrl) throw new AuthError('not_in_browser', 'Iframe renewal needs a browser and renew.silentRenewUrl.');
    const params: Record<string, string> = { prompt: 'none' };
    if (session.idToken) params['id_token_hint'] = session.idToken;
    const { url, attempt } = await this.protocol.createAuthorizationRequest({ redirectUri: silentRenewUrl, params });
    const responseUrl = await this.runIframe(window, url, attempt.state);
    return this.protocol.completeSilentAuthorization(responseUrl, attempt, session);
  }

  /** Removes the iframe of the attempt in progress, if any (logout). */
  cancel(): void {
    this.cancelCurrent?.();
  }

  private runIframe(window: Window, url: URL, state: string): Promise<URL> {
    const document = window.document;
    const appOrigin = window.location.origin;
    return new Promise<URL>((resolve, reject) => {
      const iframe = document.createElement('iframe');
      iframe.setAttribute('aria-hidden', 'true');
      iframe.setAttribute('tabindex', '-1');
      iframe.title = 'silent sign-in';
      iframe.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
      const cleanUp = () => {
        window.removeEventListener('message', onMessage);
        this.clock.clearTimeout(timer);
        iframe.remove();
        if (this.cancelCurrent === cancel) this.cancelCurrent = null;
      };
      const onMessage = (event: MessageEvent) => {
        if (event.origin !== appOrigin || event.source !== iframe.contentWindow) return;
        const data = event.data as { type?: unknown; url?: unknown } | null;
        if (data?.type !== SILENT_RENEW_MESSAGE || typeof data.url !== 'string') return;
        let response: URL;
        try {
          response = new URL(data.url);
        } catch {
          return;
        }
        // A stale response of an earlier attempt is ignored; this attempt keeps waiting.
        if (response.origin !== appOrigin || response.searchParams.get('state') !== state) return;
        cleanUp();
        resolve(response);
      };
      const cancel = () => {
        cleanUp();
        reject(new AuthError('no_session', 'The silent renewal was cancelled.'));
      };
      const timer = this.clock.setTimeout(() => {
        cleanUp();
        reject(new AuthError('timeout', 'The silent renewal in the hidden iframe did not answer in time.', true));
      }, this.config.renew.iframeTimeoutSeconds * 1000);
      this.cancelCurrent?.();
      this.cancelCurrent = cancel;
      window.addEventListener('message', onMessage);
      iframe.src = url.href;
      document.body.appendChild(iframe);
    });
  }
}
