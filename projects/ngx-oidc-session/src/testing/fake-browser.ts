import { AuthBrowser } from '../lib/session/browser';

/** Stands in for the page: records navigations instead of leaving the Karma page. */
export class FakeBrowser implements Pick<AuthBrowser, 'isBrowser' | 'window' | 'href' | 'origin' | 'navigate' | 'replaceUrl'> {
  readonly isBrowser: boolean;
  href = 'https://app.example.com/';
  readonly navigations: string[] = [];
  readonly replacedUrls: string[] = [];

  constructor({ isBrowser = true }: { isBrowser?: boolean } = {}) {
    this.isBrowser = isBrowser;
  }

  get window(): Window | null {
    return null; // storage comes from the providers the spec sets up
  }

  get origin(): string {
    return new URL(this.href).origin;
  }

  navigate(url: string): void {
    this.navigations.push(url);
  }

  replaceUrl(url: string): void {
    this.replacedUrls.push(url);
    this.href = new URL(url, this.href).href;
  }
}
