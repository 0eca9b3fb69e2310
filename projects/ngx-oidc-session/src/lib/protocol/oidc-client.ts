// The protocol chunk: everything that uses oauth4webapi. It is loaded with import() by
// ProtocolLoader, so that an app that restores a stored session starts without it.
import * as oauth from 'oauth4webapi';
import { RESERVED_AUTHORIZE_PARAMS, ResolvedAuthConfig, checkParams } from '../core/config';
import { resolveLogout, resolveTenantIssuer, unsafeBrowserEndpoint } from '../core/provider-options';
import { AuthError } from '../core/errors';
import type { DPoPSupport } from '../dpop/dpop-support';
import { IdTokenClaims, Session, newChainId } from '../core/session';
import { Clock } from '../platform/clock';
import { OpFetch } from '../platform/op-fetch';
import { DiscoveryCache } from '../state/discovery-cache';
import { isResponseAt } from '../state/callback-url';
import { AuthorizationAttempt } from '../state/sign-in-attempts';
import { callbackUrlMismatch, runSilentIframe } from './iframe-renew';
import { opFetch } from './oidc-http';
import { toAuthError } from './protocol-errors';
import { TenantIssuerChecks } from './tenant-issuer';

export interface AuthorizationRequestOptions {
  readonly redirectUri: string;
  /** Extra parameters for this request (prompt, login_hint, id_token_hint, ...). */
  readonly params?: Readonly<Record<string, string>>;
  /** withDPoP(): the key to bind the tokens to (an iframe renewal keeps the session's); default a new one. */
  readonly dpopJkt?: string;
}

/** What the client needs from the app, handed over by ProtocolLoader. */
export interface OidcClientContext {
  readonly config: ResolvedAuthConfig;
  readonly clock: Clock;
  readonly discovery: DiscoveryCache;
  /** Replaces the global fetch for requests to the OP (unit tests), or null. */
  readonly fetch: OpFetch | null;
  readonly window: Window | null;
  /** withDPoP() of this instance, if any: every token and userinfo request then carries a proof (RFC 9449). */
  readonly dpop?: DPoPSupport;
}

interface RequestOptions {
  readonly [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, URLSearchParams | undefined>) => Promise<Response>;
  readonly [oauth.allowInsecureRequests]: boolean;
  /** withDPoP(): the handle of the key the request's proof is signed with. */
  readonly DPoP?: oauth.DPoPHandle;
}

const REQUEST_TIMEOUT_MS = 15_000;
/**
 * oauth4webapi fetches the JWKS again for an unknown `kid` only once its copy is 60 seconds
 * old (counted in whole seconds from when it stored the set). One second more than that, from
 * when our fetch of the set was answered, is past its cool-down for sure.
 */
const JWKS_REFETCH_AFTER_MS = 61_000;
/** How long to wait before fetching the key set again, after it could not be fetched. */
const JWKS_RETRY_DELAYS_MS = [1_000, 3_000, 9_000];
/** Used when the token response has no expires_in (RFC 6749 5.1 makes it only RECOMMENDED). */
const DEFAULT_ACCESS_TOKEN_SECONDS = 300;

/**
 * The OpenID Connect wire protocol, done by oauth4webapi. This class adds only what that
 * library leaves to its caller: discovery caching, typed errors, the signature check of ID
 * tokens from the token endpoint, the refresh-time ID token rules of OIDC Core 12.2, and the
 * hidden iframe of a silent renewal.
 */
export class OidcClient {
  private readonly config: ResolvedAuthConfig;
  private readonly client: oauth.Client;
  private readonly clientAuth = oauth.None();
  /** withDPoP() of this instance, or null: every token and userinfo request then carries a proof (RFC 9449). */
  readonly dpop: DPoPSupport | null;
  private metadata: Promise<oauth.AuthorizationServer> | null = null;
  private cancelIframe: ((superseded?: boolean) => void) | null = null;
  /** Ends the wait of a renewal in progress for the OP's key set (logout). */
  private cancelPause: (() => void) | null = null;
  /** The OP's jwks_uri, once discovered, to tell its fetches from the others. */
  private jwksUri: string | null = null;
  /** How often this page fetched the JWKS, and when the last answer came (Clock time). */
  private readonly jwksFetches = { count: 0, answeredAt: 0 };
  private readonly requestOptions: RequestOptions;
  /** config.tenantIssuer's checks once made (see `tenant`); null without tenantIssuer. */
  private tenantChecks?: TenantIssuerChecks | null;

  constructor(private readonly context: OidcClientContext) {
    this.config = context.config;
    this.dpop = context.dpop ?? null;
    this.client = { client_id: this.config.clientId, [oauth.clockTolerance]: this.config.clockToleranceSeconds };
    const fetch = opFetch(context.fetch, REQUEST_TIMEOUT_MS);
    this.requestOptions = {
      [oauth.customFetch]: async (url, init) => {
        const response = await fetch(url, init);
        // oauth4webapi caches the key set it fetches; these tell whether it fetched one while
        // checking a signature, and when its refetch cool-down ends (verifyIdTokenSignature).
        if (url === this.jwksUri) {
          this.jwksFetches.count++;
          this.jwksFetches.answeredAt = context.clock.now();
        }
        return response;
      },
      // Plain http is allowed only for a loopback authority; the config check enforces that.
      [oauth.allowInsecureRequests]: new URL(this.config.authority).protocol === 'http:',
    };
  }

  /**
   * The OP's metadata: from the cache when fresh, else from its discovery document. One
   * object per page, so that oauth4webapi's JWKS cache (kept per metadata object) and its
   * refetch rules apply across renewals.
   */
  discover(): Promise<oauth.AuthorizationServer> {
    this.metadata ??= this.loadMetadata().then((metadata) => {
      this.jwksUri = metadata.jwks_uri ?? null;
      return metadata;
    }).catch((error: unknown) => {
      this.metadata = null; // a failed discovery is retried on the next call
      throw error;
    });
    return this.metadata;
  }

  /**
   * config.tenantIssuer's checks, null without it. Made on first use, which is the first
   * discovery (cached or fetched): in production its bounds are checked here, before any issuer
   * is accepted, and a bad template fails every use with `config_invalid` (dev mode refused it at
   * start already).
   */
  private get tenant(): TenantIssuerChecks | null {
    const configured = this.config.tenantIssuer;
    return (this.tenantChecks ??= configured === undefined ? null : new TenantIssuerChecks(resolveTenantIssuer(configured, this.config.authority)));
  }

  /**
   * Dev mode, at start (AuthService): the checks of config.logout and config.tenantIssuer that
   * production runs where the values are first used, so that a developer sees a mistake at once.
   */
  checkProviderOptions(): void {
    resolveLogout(this.config.logout);
    void this.tenant;
  }

  private async loadMetadata(): Promise<oauth.AuthorizationServer> {
    const template = this.tenant?.template;
    const cached = this.context.discovery.read();
    // A cache written before the endpoint check below (an older version) is fetched anew.
    if (cached && !unsafeBrowserEndpoint(cached)) return cached;
    const issuer = new URL(this.config.authority);
    try {
      const response = await oauth.discoveryRequest(issuer, this.requestOptions);
      // tenantIssuer: discovery is fetched from the authority, and names the template as its
      // issuer; oauth4webapi compares its URL form, the raw string is compared after it.
      const metadata = await oauth.processDiscoveryResponse(template ? new URL(template) : issuer, response);
      this.tenant?.checkDiscovered(metadata.issuer);
      for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
        if (typeof metadata[endpoint] !== 'string') {
          throw new AuthError('discovery_failed', ngDevMode ? `The OP's discovery document has no ${endpoint}.` : '');
        }
      }
      const unsafe = unsafeBrowserEndpoint(metadata);
      if (unsafe) {
        throw new AuthError('discovery_failed', ngDevMode ? `The OP's discovery document names a ${unsafe} the browser cannot be sent to: it must be an https URL (plain http only for localhost).` : '');
      }
      this.context.discovery.write(metadata);
      return metadata;
    } catch (error) {
      throw toAuthError(ngDevMode ? withIssuerHint(error, this.config.authority, template) : error, 'discovery');
    }
  }

  /**
   * Builds an authorization request (code + PKCE S256) with a fresh state and nonce. With
   * pushed authorization requests (RFC 9126) the parameters go to the OP over the back channel
   * first, and the URL carries only client_id and request_uri (RFC 9126 4). Every flow (sign-in,
   * iframe renewal, silent sign-in, popup) builds its request here, so the choice applies to all.
   */
  async authorizationRequest(options: AuthorizationRequestOptions): Promise<{ url: URL; attempt: AuthorizationAttempt }> {
    // login({ params }) as authorizeParams: a reserved name is refused before anything is done.
    checkParams(options.params, 'params', RESERVED_AUTHORIZE_PARAMS);
    // Kept with the attempt: the response's auth_time is checked against it. Checked before a
    // DPoP key is made for the attempt.
    const maxAge = { ...this.config.authorizeParams, ...options.params }['max_age'] ?? null;
    if (maxAge !== null && !/^\d{1,10}$/.test(maxAge)) {
      throw new AuthError('config_invalid', ngDevMode ? `max_age must be a whole number of seconds, not "${maxAge}".` : '', false, { configKey: 'maxAge' });
    }
    const as = await this.discover();
    const usePar = this.pushesAuthorization(as);
    // withDPoP(): a new sign-in gets a new key (dpop_unavailable here, before the browser leaves,
    // where the page cannot keep one); a renewal keeps the session's.
    const dpopJkt = this.dpop ? (options.dpopJkt ?? (await (await this.dpop.keys()).create())) : undefined;
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const attempt: AuthorizationAttempt = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier,
      redirectUri: options.redirectUri,
      ...(dpopJkt ? { dpopJkt } : {}),
    };
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...this.config.authorizeParams, ...options.params })) params.set(name, value);
    params.set('client_id', this.config.clientId);
    params.set('redirect_uri', options.redirectUri);
    params.set('response_type', 'code');
    params.set('scope', this.config.scope);
    params.set('state', attempt.state);
    params.set('nonce', attempt.nonce);
    params.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    params.set('code_challenge_method', 'S256');
    // RFC 9449 10: binds the authorization code to the key; with PAR the pushed request's proof
    // binds it as well (10.1).
    if (dpopJkt) params.set('dpop_jkt', dpopJkt);
    const url = new URL(as.authorization_endpoint!);
    if (usePar) {
      url.searchParams.set('client_id', this.config.clientId);
      // A refused push leaves no key of the attempt's own behind (a renewal's is the session's).
      url.searchParams.set('request_uri', await this.forgettingKeyOnFailure(options.dpopJkt ? undefined : dpopJkt, () => this.pushAuthorizationRequest(as, params, dpopJkt)));
    } else {
      for (const [name, value] of params) url.searchParams.set(name, value);
    }
    return { url, attempt: maxAge === null ? attempt : { ...attempt, maxAge: Number(maxAge) } };
  }

  /**
   * Whether this request is pushed: by config, or (`auto`) when the OP advertises the endpoint
   * or requires it (RFC 9126 5). A contradiction between the two is the app's to fix, and is
   * reported before the browser leaves.
   */
  private pushesAuthorization(as: oauth.AuthorizationServer): boolean {
    const mode = this.config.pushedAuthorization;
    const offered = typeof as.pushed_authorization_request_endpoint === 'string';
    if (mode === 'always' && !offered) {
      throw new AuthError('config_invalid', ngDevMode ? 'config.pushedAuthorization is "always", but the OP advertises no pushed_authorization_request_endpoint.' : '', false, {
        configKey: 'pushedAuthorization',
      });
    }
    if (mode === 'never' && as.require_pushed_authorization_requests === true) {
      throw new AuthError('config_invalid', ngDevMode ? 'config.pushedAuthorization is "never", but the OP requires pushed authorization requests (require_pushed_authorization_requests).' : '', false, {
        configKey: 'pushedAuthorization',
      });
    }
    if (as.require_pushed_authorization_requests === true && !offered) {
      throw new AuthError('discovery_failed', ngDevMode ? 'The OP requires pushed authorization requests but advertises no pushed_authorization_request_endpoint.' : '');
    }
    return mode !== 'never' && offered;
  }

  /**
   * RFC 9126 2: posts the request's parameters and returns the request_uri to send the browser
   * with. It is used at once, never kept: a request_uri lives only `expires_in` seconds and only
   * for one authorization request (RFC 9126 2.2, 4). Failures are classified like those of the
   * token endpoint (5xx, 429, network: transient; an OAuth error such as invalid_request: final).
   */
  private async pushAuthorizationRequest(as: oauth.AuthorizationServer, params: URLSearchParams, dpopJkt: string | undefined): Promise<string> {
    try {
      return await this.withDPoP(dpopJkt, async (options) => {
        const response = await oauth.pushedAuthorizationRequest(as, this.client, this.clientAuth, params, options);
        return (await oauth.processPushedAuthorizationResponse(as, this.client, response)).request_uri;
      });
    } catch (error) {
      throw toAuthError(error, 'par');
    }
  }

  /**
   * Checks an authorization response and redeems its code. oauth4webapi checks `iss`
   * (RFC 9207 2.4) and `state` (RFC 6749 10.12) before the code goes anywhere.
   */
  async completeAuthorization(responseUrl: URL, attempt: AuthorizationAttempt): Promise<Session> {
    // RFC 9700 4.4.2: `iss` alone does not stop a mix-up when an OP sends none; the response
    // must also have arrived at this attempt's own redirect URI (each instance has its own).
    if (!isResponseAt(responseUrl, attempt.redirectUri)) throw callbackUrlMismatch();
    const as = await this.discover();
    const tenant = this.tenant;
    // tenantIssuer: a present `iss` names the tenant's issuer, which oauth4webapi then checks it against.
    const responseIssuer = tenant ? responseUrl.searchParams.get('iss') : null;
    let callbackParams: URLSearchParams;
    try {
      const responseAs = tenant ? tenant.responseServer(as, responseIssuer) : as;
      callbackParams = oauth.validateAuthResponse(responseAs, this.client, responseUrl.searchParams, attempt.state);
    } catch (error) {
      throw authorizationResponseError(error, attempt.state);
    }
    const requestedAt = this.context.clock.now();
    return this.tokenGrant(
      attempt.dpopJkt,
      undefined,
      (options) =>
        oauth.authorizationCodeGrantRequest(as, this.client, this.clientAuth, callbackParams, attempt.redirectUri, attempt.codeVerifier, {
          ...options,
          additionalParameters: this.config.tokenParams,
        }),
      async (response) => {
        // OIDC Core 3.1.3.7: iss, aud, azp, exp, iat and nonce are checked here; and, when the
        // request had max_age, auth_time: it must be present (3.1.2.1) and recent enough
        // (3.1.3.7 step 11), or the user was not authenticated again as asked.
        const result = await oauth.processAuthorizationCodeResponse(await this.tokenIssuerServer(as, response), this.client, response, {
          expectedNonce: attempt.nonce,
          requireIdToken: true,
          maxAge: attempt.maxAge,
        });
        this.checkTokenType(result);
        await this.verifyIdTokenSignature(as, response);
        const claims = oauth.getValidatedIdTokenClaims(result) as IdTokenClaims | undefined;
        if (!claims) throw new AuthError('id_token_invalid', ngDevMode ? 'The token response has no ID token.' : '');
        tenant?.checkClaims(claims, responseIssuer);
        // OIDC Session Management 3: the OP's session_state, kept for withSessionMonitor().
        return { ...this.toSession(result, claims, undefined, requestedAt, responseUrl.searchParams.get('session_state')), ...(attempt.dpopJkt ? { dpopJkt: attempt.dpopJkt } : {}) };
      },
    );
  }

  /**
   * One token request (with withDPoP()'s proof) and every check of its answer, from
   * oauth4webapi's to OIDC Core 12.2's. A response the OP answered with 200 and a check then
   * refused (wrong iss, aud, exp, tid, token type, signature, another user) is spent all the
   * same: the OP issued its tokens. Its refresh token is revoked (RFC 7009) rather than left
   * valid and unused, unless it is `kept`, the one the session holds already (an OP that does
   * not rotate). Read from a copy taken before the checks, since the checks consume the body.
   */
  private async tokenGrant<T>(dpopJkt: string | undefined, kept: string | undefined, request: (options: RequestOptions) => Promise<Response>, check: (response: Response) => Promise<T>): Promise<T> {
    let answer = null as Response | null;
    try {
      return await this.withDPoP(dpopJkt, async (options) => {
        const response = await request(options);
        answer = response.clone();
        return check(response);
      });
    } catch (error) {
      if (answer?.status === 200) this.revokeRefused(answer, kept);
      throw toAuthError(error, 'token');
    }
  }

  /**
   * Best effort, not waited for: the caller's error stays the one it sees, and an OP without a
   * revocation endpoint (Entra ID) leaves the token valid until it expires. Revocation carries
   * no DPoP proof (RFC 9449 defines none for it), as at logout.
   */
  private revokeRefused(answer: Response, kept: string | undefined): void {
    void answer
      .json()
      .then((body: unknown) => {
        const token = (body as { refresh_token?: unknown } | null)?.refresh_token;
        return typeof token === 'string' && token !== kept ? this.revoke(token, 'refresh_token') : false;
      })
      .catch(() => undefined);
  }

  /**
   * The metadata a token response is processed with: the discovered one, or with tenantIssuer
   * one whose issuer is that of the tenant the ID token names (tenant-issuer.ts). The signature
   * is checked with the discovered object, whose JWKS cache lives across renewals.
   */
  private tokenIssuerServer(as: oauth.AuthorizationServer, response: Response): Promise<oauth.AuthorizationServer> {
    return this.tenant ? this.tenant.tokenServer(as, response) : Promise.resolve(as);
  }

  /**
   * OIDC Core 3.1.3.7 step 6 lets a client skip the signature check for a token received
   * over TLS from the token endpoint; we check it anyway, against the OP's JWKS, so that a
   * compromised or misrouted connection cannot hand the app a forged identity. The JWKS is
   * fetched and refreshed by oauth4webapi's rules (again after 5 minutes, or for an unknown
   * key once the cached set is a minute old).
   *
   * Key rotation: an OP may start signing with a new `kid` at any moment, also within the
   * minute after this page fetched the key set. oauth4webapi then refuses to fetch it again
   * (KEY_SELECTION, without a request). The token response is already spent by then (the
   * refresh token rotated, the code redeemed), so failing would cost the user the session,
   * and retrying the grant later would present a used refresh token. Instead the response is
   * held and checked once more when the cool-down is over, which fetches the key set again;
   * a `kid` still unknown after that refetch is rejected (`id_token_invalid`). Nothing is
   * stored before the signature checks out.
   */
  private async verifyIdTokenSignature(as: oauth.AuthorizationServer, response: Response, spent = true): Promise<void> {
    let keyWaited = false;
    for (let retry = 0; ; retry++) {
      const fetchesBefore = this.jwksFetches.count;
      try {
        await oauth.validateApplicationLevelSignature(as, response, this.requestOptions);
        return;
      } catch (error) {
        const coolingDown =
          error instanceof oauth.OperationProcessingError && error.code === oauth.KEY_SELECTION && this.jwksFetches.count === fetchesBefore && fetchesBefore > 0;
        if (coolingDown && !keyWaited) {
          keyWaited = true;
          await this.pause(Math.max(0, this.jwksFetches.answeredAt + JWKS_REFETCH_AFTER_MS - this.context.clock.now()));
          continue;
        }
        const failure = toAuthError(error, 'id_token');
        // A refresh token the OP did not rotate is still good: the grant can simply be retried.
        if (!failure.retryable || !spent) throw failure;
        // The key set could not be fetched (network, 5xx, a proxy's page) after the OP had
        // answered: as above, the response is spent, and retrying the grant would present a
        // used refresh token. It is held and the key set fetched again, a few times; then the
        // renewal fails for good rather than present that token.
        if (retry >= JWKS_RETRY_DELAYS_MS.length) throw new AuthError(failure.code, ngDevMode ? "The OP's key set could not be fetched to check the new ID token." : '', false, failure.details);
        await this.pause(JWKS_RETRY_DELAYS_MS[retry]);
      }
    }
  }

  /** Resolves after `delay` (Clock time); rejects when a logout cancels the renewal. */
  private pause(delay: number): Promise<void> {
    const { clock } = this.context;
    return new Promise<void>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.cancelPause = null;
        resolve();
      }, delay);
      this.cancelPause = () => {
        clock.clearTimeout(timer);
        this.cancelPause = null;
        reject(new AuthError('no_session', ngDevMode ? 'The renewal was cancelled (signed out).' : ''));
      };
    });
  }

  /** Refresh-token grant (RFC 6749 6), with the ID token rules of OIDC Core 12.2. */
  async refresh(previous: Session): Promise<Session> {
    if (!previous.refreshToken) throw new AuthError('no_session', ngDevMode ? 'The session has no refresh token.' : '');
    const as = await this.discover();
    const requestedAt = this.context.clock.now();
    // The session ends on a refused response; a new refresh token in it is revoked (tokenGrant).
    return this.tokenGrant(
      previous.dpopJkt,
      previous.refreshToken,
      (options) =>
        oauth.refreshTokenGrantRequest(as, this.client, this.clientAuth, previous.refreshToken!, {
          ...options,
          additionalParameters: this.config.tokenParams,
        }),
      async (response) => {
        const result = await oauth.processRefreshTokenResponse(await this.tokenIssuerServer(as, response), this.client, response);
        this.checkTokenType(result);
        const claims = oauth.getValidatedIdTokenClaims(result) as IdTokenClaims | undefined;
        if (!claims) {
          // OIDC Core 12.2: the response may omit the ID token; the previous one stays.
          return this.toSession(result, previous.idTokenClaims, previous, requestedAt);
        }
        // Rotated (a new refresh token came): the one presented is spent, the response must not be lost.
        const rotated = typeof result.refresh_token === 'string' && result.refresh_token !== previous.refreshToken;
        await this.verifyIdTokenSignature(as, response, rotated);
        this.tenant?.checkClaims(claims);
        // With tenantIssuer, the same iss also keeps the tenant of the sign-in.
        checkRefreshedIdToken(claims, previous.idTokenClaims);
        return this.toSession(result, claims, previous, requestedAt);
      },
    );
  }

  /**
   * Silent renewal: an authorization request with prompt=none in a hidden iframe that lands on
   * the app's silent-renew page; its response gets the same checks as a sign-in, plus 12.2's
   * same-user rule. Each attempt has its own state, nonce and PKCE pair.
   */
  async silentRenew(previous: Session): Promise<Session> {
    const params: Record<string, string> = {};
    if (previous.idToken) params['id_token_hint'] = previous.idToken;
    const session = await this.silentAuthorization(params, this.config.renew.iframeTimeoutSeconds * 1000, previous.dpopJkt);
    // A user is sub within its issuer (OIDC Core 2); with tenantIssuer the issuer names the tenant.
    if (session.idTokenClaims.sub !== previous.idTokenClaims.sub || session.idTokenClaims.iss !== previous.idTokenClaims.iss) {
      // Refused like a token response that failed its checks: the other user's grant is not left valid.
      if (session.refreshToken) void this.revoke(session.refreshToken, 'refresh_token').catch(() => undefined);
      throw new AuthError('id_token_invalid', ngDevMode ? 'The silent renewal signed in a different user than the current session.' : '', false, { differentUser: true });
    }
    return { ...session, userInfo: previous.userInfo, epoch: previous.epoch, chain: previous.chain, version: previous.version + 1 };
  }

  /**
   * A sign-in without a session to go on (silent sign-in at start-up): the same prompt=none
   * request in the hidden iframe, without id_token_hint; the OP's answer decides whether its
   * session exists. Rejects with `authorization_error` (login_required, ...) when it does not.
   */
  silentSignIn(timeoutMs: number): Promise<Session> {
    return this.silentAuthorization({}, timeoutMs);
  }

  /** One prompt=none authorization request in the hidden iframe, checked and redeemed like a sign-in. */
  private async silentAuthorization(params: Record<string, string>, timeoutMs: number, dpopJkt?: string): Promise<Session> {
    const window = this.context.window;
    const silentRenewUrl = this.config.renew.silentRenewUrl;
    if (!window || !silentRenewUrl) throw new AuthError('not_in_browser', ngDevMode ? 'A silent authorization request needs a browser and renew.silentRenewUrl.' : '');
    const { url, attempt } = await this.authorizationRequest({ redirectUri: silentRenewUrl, params: { ...params, prompt: 'none' }, dpopJkt });
    // A silent sign-in made a key of its own, which an answer such as login_required must not
    // leave behind; a renewal uses the session's key, which stays.
    return this.forgettingKeyOnFailure(dpopJkt ? undefined : attempt.dpopJkt, async () => {
      // A newer attempt replaces this one: cancelled as retryable, not as "no session".
      this.cancelIframe?.(true);
      const iframe = runSilentIframe(window, url, attempt, timeoutMs, this.context.clock);
      this.cancelIframe = iframe.cancel;
      const responseUrl = await iframe.response.finally(() => {
        if (this.cancelIframe === iframe.cancel) this.cancelIframe = null;
      });
      return this.completeAuthorization(responseUrl, attempt);
    });
  }

  /**
   * withDPoP(): a new sign-in made a key of its own for its dpop_jkt; when the sign-in fails
   * (response refused, code grant refused, a Bearer token, no OP session) that key is deleted,
   * so that no key outlives the attempt it was made for. A page left mid-way is left to prune().
   */
  async forgettingKeyOnFailure<T>(jkt: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (jkt) await this.dpop?.keys().then((keys) => keys.delete(jkt)).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Logout: removes the iframe of a silent renewal in progress, and ends a renewal's wait for
   * the OP's new signing key; neither may store anything afterwards.
   */
  cancelRenewal(): void {
    this.cancelIframe?.();
    this.cancelPause?.();
  }

  /** Userinfo (OIDC Core 5.3); oauth4webapi checks that its `sub` is the ID token's (5.3.4). */
  async fetchUserInfo(session: Session): Promise<Record<string, unknown>> {
    const as = await this.discover();
    if (!as.userinfo_endpoint) throw new AuthError('invalid_response', ngDevMode ? 'The OP has no userinfo endpoint; set loadUserInfo to false.' : '');
    try {
      return await this.withDPoP(session.dpopJkt, async (options) => {
        const response = await oauth.userInfoRequest(as, this.client, session.accessToken, options);
        return { ...(await oauth.processUserInfoResponse(as, this.client, session.idTokenClaims.sub, response)) };
      });
    } catch (error) {
      throw toAuthError(error, 'userinfo');
    }
  }

  /** Token revocation (RFC 7009). Resolves false when the OP has no revocation endpoint. */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const as = await this.discover();
    if (!as.revocation_endpoint) return false;
    try {
      const response = await oauth.revocationRequest(as, this.client, this.clientAuth, token, {
        ...this.requestOptions,
        additionalParameters: { token_type_hint: hint },
      });
      await oauth.processRevocationResponse(response);
      return true;
    } catch (error) {
      throw toAuthError(error, 'revocation');
    }
  }

  /**
   * The URL of the OP's logout endpoint with the parameters of config.logout's dialect, or null
   * when there is no endpoint (none configured, none discovered). Rejects with `config_invalid`
   * when the endpoint is not on the origin of the authorization endpoint, where the user signed
   * in: neither the browser nor (RP-initiated) the ID token goes anywhere else.
   */
  async logoutUrl(options: { idTokenHint?: string; postLogoutRedirectUri: string; state: string }): Promise<URL | null> {
    // In production this is where config.logout is checked (dev mode did at start): a refused
    // value rejects before the browser is sent anywhere.
    const { dialect, endpoint } = resolveLogout(this.config.logout);
    const as = await this.discover();
    if (ngDevMode && dialect === 'auth0-v2' && as.end_session_endpoint) {
      // Cognito is left out: its discovery names its own /logout, which needs the cognito dialect.
      // eslint-disable-next-line no-console -- a dev-mode diagnostic, dropped from production builds
      console.warn(
        `ngx-oidc-session: config.logout.dialect is "auth0-v2", but the OP's discovery document advertises an end_session_endpoint (${as.end_session_endpoint}): prefer the default "rp-initiated" dialect there, which sends id_token_hint and comes back with state.`,
      );
    }
    const href = endpoint ?? as.end_session_endpoint;
    if (!href) return null;
    const url = new URL(href);
    const front = as.authorization_endpoint ? new URL(as.authorization_endpoint).origin : null;
    // The origins compared are never opaque ("null"): discovery refused such endpoints, and
    // resolveLogout a configured one that is not http(s).
    if (url.origin !== front) {
      // A discovered endpoint is named as such: the app never set it (its way out is to set
      // logout.endpoint on the authorization endpoint's origin, or to log out locally).
      const key = endpoint ? 'logout.endpoint' : 'end_session_endpoint';
      throw new AuthError(
        'config_invalid',
        ngDevMode
          ? `ngx-oidc-session: ${endpoint ? 'config.logout.endpoint' : "the OP's discovered end_session_endpoint"} is on ${url.origin}, but the OP's authorization endpoint is on ${String(front)}: the logout endpoint must be on the origin where the user signs in. The browser was not sent there; the session was cleared here only.`
          : '',
        false,
        { configKey: key },
      );
    }
    const post = options.postLogoutRedirectUri;
    const params =
      dialect === 'auth0-v2'
        ? // https://auth0.com/docs/api/authentication/logout/auth-0-logout
          { returnTo: post }
        : dialect === 'cognito'
          ? // https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
            { logout_uri: post }
          : // RP-Initiated Logout 1.0, section 2
            { ...(options.idTokenHint && { id_token_hint: options.idTokenHint }), post_logout_redirect_uri: post, state: options.state };
    for (const [name, value] of Object.entries({ client_id: this.config.clientId, ...params })) url.searchParams.set(name, value);
    return url;
  }

  /**
   * `expires_in` counts from when the OP answered (RFC 6749 5.1), which this tab cannot see:
   * counted from when the request left, the expiry is never later than the OP's. Counted from
   * receipt, a slow answer (a loaded machine, a JWKS fetch) made the token look valid for that
   * much longer than the API accepts it.
   */
  private toSession(result: oauth.TokenEndpointResponse, claims: IdTokenClaims, previous: Session | undefined, requestedAt: number, sessionState: string | null | undefined = previous?.sessionState): Session {
    const now = this.context.clock.now();
    const lifetime = typeof result.expires_in === 'number' && result.expires_in > 0 ? result.expires_in : DEFAULT_ACCESS_TOKEN_SECONDS;
    return {
      accessToken: result.access_token,
      tokenType: result.token_type,
      expiresAt: Math.min(requestedAt, now) + lifetime * 1000,
      // An OP that does not rotate sends no new refresh token: keep the one we have.
      refreshToken: result.refresh_token ?? previous?.refreshToken,
      idToken: result.id_token ?? previous?.idToken,
      idTokenClaims: claims,
      userInfo: previous?.userInfo,
      scope: result.scope ?? previous?.scope,
      receivedAt: now,
      // A renewal continues its sign-in's chain; a sign-in starts a new one, and gets its epoch
      // from the ledger when it is committed.
      epoch: previous?.epoch ?? 0,
      chain: previous?.chain ?? newChainId(),
      version: previous ? previous.version + 1 : 0,
      ...(previous?.dpopJkt ? { dpopJkt: previous.dpopJkt } : {}),
      // The authorization response's (a sign-in), else the session's own (a refresh).
      sessionState: sessionState || undefined,
    };
  }

  /**
   * Runs one request to the OP (and the check of its response) with withDPoP()'s proof for the
   * key `dpopJkt`, or as it is without withDPoP(). An OP that asks for a nonce (RFC 9449 8,
   * `use_dpop_nonce`) gets exactly one retry: the handle took the nonce from its answer.
   */
  private async withDPoP<T>(dpopJkt: string | undefined, run: (options: RequestOptions) => Promise<T>): Promise<T> {
    const dpop = this.dpop;
    if (!dpop) return run(this.requestOptions);
    // Never a request without the proof: a session not bound to a key is not used.
    if (!dpopJkt) throw new AuthError('no_session', ngDevMode ? 'The session is not bound to a DPoP key.' : '');
    const options: RequestOptions = { ...this.requestOptions, DPoP: await (await dpop.keys()).handle(dpopJkt) };
    try {
      return await run(options);
    } catch (error) {
      if (!oauth.isDPoPNonceError(error)) throw error;
      return run(options);
    }
  }

  /**
   * The token type must be the one the app asked for: `DPoP` under withDPoP() (RFC 9449 5), else
   * `Bearer` (a DPoP-bound token is useless without the key).
   */
  private checkTokenType(result: oauth.TokenEndpointResponse): void {
    // oauth4webapi gives token_type in lower case.
    const expected = this.dpop ? 'dpop' : 'bearer';
    if (result.token_type === expected) return;
    throw new AuthError('invalid_response', ngDevMode ? `The OP issued a "${result.token_type}" token where a "${expected}" one was expected${this.dpop ? ' (withDPoP())' : ''}.` : '');
  }
}

/**
 * oauth4webapi reports a wrong `state` and a wrong or missing `iss` with the same code; the
 * value it expected tells them apart (the attempt's state, or the issuer).
 */
function authorizationResponseError(error: unknown, expectedState: string): AuthError {
  if (error instanceof oauth.OperationProcessingError && error.code === oauth.INVALID_RESPONSE) {
    const parameters = (error.cause as { expected?: unknown; parameters?: URLSearchParams } | undefined) ?? {};
    if (parameters.expected === expectedState) {
      return new AuthError('state_mismatch', ngDevMode ? 'The authorization response does not belong to the sign-in attempt started in this browser.' : '');
    }
    if (!parameters.parameters?.has('response')) {
      return new AuthError('iss_mismatch', ngDevMode ? 'The authorization response was not issued by the configured OP (RFC 9207 "iss" check failed).' : '');
    }
  }
  return toAuthError(error, 'authorization');
}

/**
 * Dev mode: an issuer_mismatch of discovery that says what to change, for the usual causes: an
 * Entra ID issuer template without config.tenantIssuer, a trailing slash, another host (a
 * proxy, the OP's hostname setting, 127.0.0.1 for localhost). Other errors pass unchanged.
 */
function withIssuerHint(error: unknown, authority: string, template: string | undefined): unknown {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.JSON_ATTRIBUTE_COMPARISON) return error;
  const issuer = (error.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer;
  if (typeof issuer !== 'string') return error;
  const expected = template ?? authority;
  let hint = 'Set config.authority to the issuer exactly as the discovery document writes it.';
  if (issuer.includes('{tenantid}') && !template) {
    hint = `It is a Microsoft Entra ID multi-tenant issuer template: set config.tenantIssuer = { template: "${issuer}", allowedTenants: [...] } (see the README, tenantIssuer).`;
  } else if (issuer.replace(/\/$/, '') === expected.replace(/\/$/, '')) {
    hint = 'They differ only in a trailing slash: copy the issuer verbatim into config.authority.';
  } else {
    try {
      if (new URL(issuer).host !== new URL(expected).host) {
        hint = `The hosts differ: use the host the OP names, or fix the OP's hostname setting (a proxy, Keycloak's hostname, 127.0.0.1 for localhost).`;
      }
    } catch {
      // an issuer that is not a URL: the default hint
    }
  }
  return new AuthError('issuer_mismatch', `The OP's discovery document names the issuer "${issuer}", config ${template ? 'tenantIssuer.template' : 'authority'} is "${expected}". ${hint}`);
}

/**
 * OIDC Core 12.2: a refreshed ID token must have the same iss, sub and aud as the original,
 * a new iat, the original auth_time if any, and a nonce absent or equal to the original.
 */
export function checkRefreshedIdToken(next: IdTokenClaims, original: IdTokenClaims): void {
  const sameAudience = JSON.stringify([next.aud].flat().sort()) === JSON.stringify([original.aud].flat().sort());
  const problem =
    next.iss !== original.iss
      ? 'its issuer differs from the original ID token'
      : next.sub !== original.sub
        ? 'it names another user (sub) than the original ID token'
        : !sameAudience
          ? 'its audience differs from the original ID token'
          : next.iat < original.iat
            ? 'it was issued before the original ID token'
            : next.nonce !== undefined && next.nonce !== original.nonce
              ? 'its nonce differs from the original ID token'
              : next.auth_time !== undefined && original.auth_time !== undefined && next.auth_time !== original.auth_time
                ? 'its auth_time differs from the original authentication'
                : null;
  if (problem) throw new AuthError('id_token_invalid', ngDevMode ? `The refreshed ID token was rejected: ${problem} (OIDC Core 12.2).` : '');
}
