import { AuthBrowser } from '../lib/platform/browser';

/** Stands in for the page: records navigations instead of leaving the Karma page. */
export class FakeBrowser implements Pick<AuthBrowser, 'isBrowser' | 'window' | 'href' | 'origin' | 'baseUrl' | 'navigate' | 'replaceUrl'> {
  readonly isBrowser: boolean;
  href = 'https://app.example.com/';
  readonly navigations: string[] = [];
  readonly replacedUrls: string[] = [];

  constructor({ isBrowser = true }: { isBrowser?: boolean } = {}) {
    this.isBrowser = isBrowser;
  }

  /** The window for wake-up events and iframes; none by default (storage comes from the providers). */
  windowRef: Window | null = null;

  get window(): Window | null {
    return this.windowRef;
  }

  get origin(): string {
    return new URL(this.href).origin;
  }

  /** The page's `<base href>`, as written in its HTML; null: no `<base>` element. */
  baseHref: string | null = null;

  /** As `document.baseURI`: the base element's href resolved against the page, else the page's URL. */
  get baseUrl(): string {
    return this.baseHref === null ? this.href : new URL(this.baseHref, this.href).href;
  }

  navigate(url: string): void {
    this.navigations.push(url);
  }

  replaceUrl(url: string): void {
    this.replacedUrls.push(url);
    this.href = new URL(url, this.href).href;
  }
}

/** Just enough of a window for wake-up events: visibility, pageshow, online, focus. */
export class FakeWindow extends EventTarget {
  readonly document = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState });

  setVisibility(state: DocumentVisibilityState): void {
    this.document.visibilityState = state;
    this.document.dispatchEvent(new Event('visibilitychange'));
  }

  /** What `navigator.onLine` says; goOffline() and goOnline() change it and fire the events. */
  readonly navigator = { onLine: true };

  fire(type: 'pageshow' | 'online' | 'focus'): void {
    this.dispatchEvent(new Event(type));
  }

  goOffline(): void {
    this.navigator.onLine = false;
    this.dispatchEvent(new Event('offline'));
  }

  goOnline(): void {
    this.navigator.onLine = true;
    this.dispatchEvent(new Event('online'));
  }
}
