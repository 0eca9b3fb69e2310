/** One allow-list entry: an exact origin and a path prefix that ends on a segment boundary. */
export interface SecureUrlRule {
  readonly origin: string;
  /** Path prefix without a trailing slash; '' matches every path of the origin. */
  readonly path: string;
}

export function toRule(entry: string, base: string): SecureUrlRule {
  const url = new URL(entry, base);
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, '') };
}

export function pathMatches(rule: SecureUrlRule, pathname: string): boolean {
  // "/api" matches "/api", "/api/" and "/api/x", never "/apis" or "/api-internal".
  return rule.path === '' || pathname === rule.path || pathname.startsWith(`${rule.path}/`);
}

/**
 * Decides which request URLs may carry the access token. Matching is by parsed URL, never
 * by string prefix: the origin (scheme, host and port) must be equal, so that
 * `https://api.example.com` matches neither `https://api.example.com.evil.net` nor
 * `https://api.example.com:8443`, and `http://localhost:4500` not `http://localhost:45001`.
 * URLs are normalised by the URL parser first, so `/api/../admin` is `/admin`.
 */
export class SecureUrlMatcher {
  private readonly rules: readonly SecureUrlRule[];
  private readonly excluded: readonly SecureUrlRule[];

  /**
   * @param entries the config's secureApis: absolute URLs, or app-relative paths
   * @param appOrigin resolves app-relative entries (they start with "/", so the base path of
   *   the page makes no difference to them)
   * @param excluded URLs that never get the token (the OP's own endpoints)
   * @param base the page's `document.baseURI`: a relative request URL (`api/orders`) goes
   *   where the browser sends it, under the `<base href>`, not under the origin's root
   */
  constructor(
    entries: readonly string[],
    private readonly appOrigin: string,
    excluded: readonly string[],
    private readonly base: string,
  ) {
    this.rules = entries.map((entry) => toRule(entry, appOrigin));
    this.excluded = excluded.map((entry) => toRule(entry, appOrigin));
  }

  /**
   * The request URL's origin and normalised path, or null when it cannot be parsed or is not
   * http(s). Read once: each read of URL.origin builds a new string.
   */
  private parse(requestUrl: string): { origin: string; pathname: string } | null {
    let url: URL;
    try {
      url = new URL(requestUrl, this.base);
    } catch {
      return null;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    return { origin: url.origin, pathname: url.pathname };
  }

  private isExcluded(url: { origin: string; pathname: string }): boolean {
    return this.excluded.some((rule) => url.origin === rule.origin && pathMatches(rule, url.pathname));
  }

  /** Whether the token may be attached to a request for this URL by the allow-list. */
  matches(requestUrl: string): boolean {
    const url = this.parse(requestUrl);
    if (!url || this.isExcluded(url)) return false;
    return this.rules.some((rule) => url.origin === rule.origin && pathMatches(rule, url.pathname));
  }

  /**
   * Whether a request the app explicitly opted in may carry the token: only to the app's own
   * origin or an origin of the allow-list, never elsewhere and never to the OP.
   */
  allowsOptIn(requestUrl: string): boolean {
    const url = this.parse(requestUrl);
    if (!url || this.isExcluded(url)) return false;
    return url.origin === this.appOrigin || this.rules.some((rule) => rule.origin === url.origin);
  }
}
