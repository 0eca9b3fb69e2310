import { DOCUMENT, Injectable, PLATFORM_ID, inject } from '@angular/core';
import { isPlatformBrowser } from '@angular/common';

/**
 * The browser APIs the library needs, behind the platform check: on the server every
 * member is inert, so server-side rendering never touches window, location or storage.
 * Tests replace it to observe navigations without leaving the page.
 */
@Injectable({ providedIn: 'root' })
export class AuthBrowser {
  private readonly document = inject(DOCUMENT);
  readonly isBrowser = isPlatformBrowser(inject(PLATFORM_ID));

  get window(): Window | null {
    return this.isBrowser ? this.document.defaultView : null;
  }

  /** The page's current URL; a placeholder on the server. */
  get href(): string {
    return this.window?.location.href ?? 'http://server.invalid/';
  }

  /** The page's origin; read on every intercepted request, so without parsing the URL. */
  get origin(): string {
    return this.window?.location.origin ?? 'http://server.invalid';
  }

  /**
   * The URL relative URLs of the page resolve against: the `<base href>` when there is one,
   * else the page's URL. Read when needed, not kept: it follows navigations when the page has
   * no `<base>`. Read in the browser only (the interceptor does nothing on the server).
   */
  get baseUrl(): string {
    return this.document.baseURI;
  }

  /** Leaves the app for the OP (sign-in, sign-out). */
  navigate(url: string): void {
    this.window?.location.assign(url);
  }

  /** Changes the address bar without a navigation (removes code and state after sign-in). */
  replaceUrl(url: string): void {
    const window = this.window;
    if (!window) return;
    window.history.replaceState(window.history.state, '', url);
  }
}
