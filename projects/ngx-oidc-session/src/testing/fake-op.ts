import { HttpBackend, HttpErrorResponse, HttpEvent, HttpHeaders, HttpRequest, HttpResponse } from '@angular/common/http';
import { Observable, from, mergeMap, of, throwError } from 'rxjs';

export type SigningAlg = 'RS256' | 'PS256' | 'ES256';

interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JsonWebKey;
}

export interface FakeReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const encoder = new TextEncoder();
const b64url = (bytes: Uint8Array | string): string => {
  const data = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  let binary = '';
  data.forEach((byte) => (binary += String.fromCharCode(byte)));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

async function generateKey(alg: SigningAlg, kid: string): Promise<SigningKey> {
  const params =
    alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: alg === 'PS256' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { kid, alg, privateKey: pair.privateKey, publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg, use: 'sig' } as JsonWebKey };
}

/**
 * A fake OpenID Provider behind Angular's HttpBackend, for unit specs: real discovery JSON,
 * real JWKS, ID tokens really signed with WebCrypto. Each endpoint's behaviour can be
 * replaced per test; every request is recorded.
 */
export class FakeOp implements HttpBackend {
  readonly issuer = 'https://op.example.com';
  readonly clientId = 'spa';
  readonly requests: HttpRequest<unknown>[] = [];
  keys: SigningKey[] = [];
  /** The key new ID tokens are signed with. */
  signingKid = 'rs-1';
  /** Claims merged into the next ID tokens (to make them fail a check). */
  idTokenOverrides: Record<string, unknown> = {};
  /** The nonce of the sign-in in progress, copied into the ID token. */
  nonce: string | undefined;
  subject = 'alice';
  /** Keys published in the JWKS; by default all of them. */
  publishedKids: string[] | null = null;
  issueRefreshToken = true;
  rotateRefreshToken = true;
  /** Token responses without expires_in (RFC 6749 5.1 only RECOMMENDS it). */
  omitExpiresIn = false;
  accessTokenLifetime = 300;
  private counter = 0;
  readonly metadata: Record<string, unknown> = {
    issuer: this.issuer,
    authorization_endpoint: `${this.issuer}/authorize`,
    token_endpoint: `${this.issuer}/token`,
    jwks_uri: `${this.issuer}/jwks`,
    userinfo_endpoint: `${this.issuer}/userinfo`,
    revocation_endpoint: `${this.issuer}/revoke`,
    end_session_endpoint: `${this.issuer}/logout`,
    authorization_response_iss_parameter_supported: true,
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
  };
  readonly handlers: Record<string, (request: HttpRequest<unknown>) => Promise<FakeReply> | FakeReply> = {
    '/.well-known/openid-configuration': () => this.json(this.metadata),
    '/jwks': () => this.json({ keys: this.keys.filter((key) => !this.publishedKids || this.publishedKids.includes(key.kid)).map((key) => key.publicJwk) }),
    '/token': (request) => this.token(request),
    '/userinfo': () => this.json({ sub: this.subject, name: 'Alice Example', email: 'alice@example.com' }),
    '/revoke': (request) => {
      this.liveRefreshTokens.delete(new URLSearchParams(String(request.body)).get('token') ?? '');
      return { status: 200, body: '' };
    },
  };

  static async create(): Promise<FakeOp> {
    const op = new FakeOp();
    op.keys = [await generateKey('RS256', 'rs-1'), await generateKey('PS256', 'ps-1'), await generateKey('ES256', 'es-1')];
    return op;
  }

  async addKey(alg: SigningAlg, kid: string): Promise<void> {
    this.keys.push(await generateKey(alg, kid));
  }

  requestsTo(path: string): HttpRequest<unknown>[] {
    return this.requests.filter((request) => new URL(request.url).pathname === path);
  }

  handle(request: HttpRequest<unknown>): Observable<HttpEvent<unknown>> {
    this.requests.push(request);
    const url = new URL(request.url);
    const handler = url.origin === this.issuer ? this.handlers[url.pathname] : undefined;
    if (!handler) return throwError(() => new HttpErrorResponse({ status: 404, url: request.url, error: 'not found' }));
    return from(Promise.resolve(handler(request))).pipe(
      mergeMap((reply) => {
        const headers = new HttpHeaders(reply.headers ?? { 'content-type': 'application/json' });
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? null);
        if (reply.status === 0) return throwError(() => new HttpErrorResponse({ status: 0, url: request.url, error: new ProgressEvent('error') }));
        if (reply.status >= 400) return throwError(() => new HttpErrorResponse({ status: reply.status, headers, url: request.url, error: body }));
        return of(new HttpResponse({ status: reply.status, headers, body, url: request.url }));
      }),
    );
  }

  /**
   * The OP as the library's own requests reach it (OP_FETCH), with a browser fetch's ways: an
   * unreachable OP (status 0) rejects with a TypeError, and a redirect is followed (a 307/308
   * re-sends method and body to its target) unless the request says `redirect: 'manual'`.
   * Every request is recorded, the redirect targets' too.
   */
  readonly fetch = (url: string, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal;
    return new Promise<Response>((resolve, reject) => {
      const aborted = () => reject(signal?.reason ?? new DOMException('The request was aborted.', 'AbortError'));
      if (signal?.aborted) return aborted();
      signal?.addEventListener('abort', aborted);
      this.fetchOnce(url, init).then(resolve, reject);
    });
  };

  private async fetchOnce(url: string, init: RequestInit): Promise<Response> {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new HttpHeaders(Object.fromEntries(new Headers(init.headers).entries()));
    const request = new HttpRequest<string | null>(method as 'POST', url, init.body == null ? null : String(init.body), { headers, responseType: 'text' });
    this.requests.push(request);
    const target = new URL(url);
    const handler = target.origin === this.issuer ? this.handlers[target.pathname] : undefined;
    if (!handler) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
    const reply = await handler(request);
    if (reply.status === 0) throw new TypeError('Failed to fetch');
    const location = reply.headers?.['location'];
    if (reply.status >= 300 && reply.status < 400 && location) {
      if (init.redirect === 'manual') return new Response(null, { status: reply.status, headers: reply.headers });
      const keepsBody = reply.status === 307 || reply.status === 308;
      return this.fetchOnce(new URL(location, url).href, { ...init, method: keepsBody ? method : 'GET', body: keepsBody ? init.body : undefined });
    }
    const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? null);
    const bodyless = reply.status === 204 || reply.status === 205 || reply.status === 304;
    return new Response(bodyless ? null : body, { status: reply.status, headers: reply.headers ?? { 'content-type': 'application/json' } });
  }

  json(body: unknown, status = 200): FakeReply {
    return { status, body, headers: { 'content-type': 'application/json' } };
  }

  oauthError(error: string, status = 400): FakeReply {
    return this.json({ error, error_description: `fake ${error}` }, status);
  }

  async signJwt(payload: Record<string, unknown>, kid = this.signingKid): Promise<string> {
    const key = this.keys.find((candidate) => candidate.kid === kid);
    if (!key) throw new Error(`no key ${kid}`);
    const header = b64url(JSON.stringify({ alg: key.alg, kid, typ: 'JWT' }));
    const body = b64url(JSON.stringify(payload));
    const algorithm =
      key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : key.alg === 'PS256' ? { name: 'RSA-PSS', saltLength: 32 } : { name: 'RSASSA-PKCS1-v1_5' };
    const signature = await crypto.subtle.sign(algorithm, key.privateKey, encoder.encode(`${header}.${body}`));
    return `${header}.${body}.${b64url(new Uint8Array(signature))}`;
  }

  /** When the user authenticated at this OP: set by the first ID token, kept like an OP session. */
  private authTime: number | null = null;

  async idToken(extra: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    // A real OP keeps auth_time for the life of its session; taking "now" here made refreshed
    // ID tokens fail the OIDC Core 12.2 auth_time check whenever a test crossed a second.
    this.authTime ??= now;
    return this.signJwt({
      iss: this.issuer,
      aud: this.clientId,
      sub: this.subject,
      iat: now,
      exp: now + 600,
      auth_time: this.authTime,
      nonce: this.nonce,
      name: 'Alice Example',
      ...extra,
      ...this.idTokenOverrides,
    });
  }

  /**
   * The refresh tokens this OP accepts, as a real one: a rotated-out or revoked token is
   * refused, and presenting one revokes the whole grant (reuse detection).
   */
  private readonly liveRefreshTokens = new Set<string>();

  private issueRefresh(): { refresh_token: string } {
    const token = `rt-${this.counter}`;
    this.liveRefreshTokens.add(token);
    return { refresh_token: token };
  }

  private async token(request: HttpRequest<unknown>): Promise<FakeReply> {
    const form = new URLSearchParams(String(request.body));
    const grant = form.get('grant_type');
    this.counter++;
    if (grant === 'authorization_code') {
      if (form.get('code') !== 'good-code' || !form.get('code_verifier')) return this.oauthError('invalid_grant');
      return this.json({
        access_token: `at-${this.counter}`,
        token_type: 'Bearer',
        ...(this.omitExpiresIn ? {} : { expires_in: this.accessTokenLifetime }),
        id_token: await this.idToken(),
        ...(this.issueRefreshToken ? this.issueRefresh() : {}),
      });
    }
    if (grant === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      if (!this.liveRefreshTokens.has(presented)) {
        this.liveRefreshTokens.clear();
        return this.oauthError('invalid_grant');
      }
      if (this.rotateRefreshToken) this.liveRefreshTokens.delete(presented);
      return this.json({
        access_token: `at-${this.counter}`,
        token_type: 'Bearer',
        ...(this.omitExpiresIn ? {} : { expires_in: this.accessTokenLifetime }),
        id_token: await this.idToken(),
        ...(this.rotateRefreshToken ? this.issueRefresh() : {}),
      });
    }
    return this.oauthError('unsupported_grant_type');
  }
}
