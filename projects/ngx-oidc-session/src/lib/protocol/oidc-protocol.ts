import { Injectable, inject } from '@angular/core';
import * as oauth from 'oauth4webapi';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthError } from '../errors';
import { IdTokenClaims, Session, newChainId } from '../session/session';
import { AUTH_CLOCK } from '../time/clock';
import { OidcHttp } from './oidc-http';
import { toAuthError } from './protocol-errors';
import { TOKEN_STORAGE } from '../storage/storage-tokens';

/** A sign-in (or silent renew) attempt: what must be remembered until its response arrives. */
export interface AuthorizationAttempt {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export interface AuthorizationRequestOptions {
  readonly redirectUri: string;
  /** Extra parameters for this request (prompt, login_hint, id_token_hint, ...). */
  readonly params?: Readonly<Record<string, string>>;
}

const DISCOVERY_CACHE_MS = 60 * 60 * 1000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Used when the token response has no expires_in (RFC 6749 5.1 makes it only RECOMMENDED). */
const DEFAULT_ACCESS_TOKEN_SECONDS = 300;

/**
 * The OpenID Connect wire protocol, done by oauth4webapi. This class adds only what that
 * library leaves to its caller: discovery caching, the JWKS refetch on an unknown key, typed
 * errors, and the refresh-time ID token rules of OIDC Core 12.2.
 */
@Injectable({ providedIn: 'root' })
export class OidcProtocol {
  private readonly config = inject(AUTH_CONFIG);
  private readonly http = inject(OidcHttp);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly storage = inject(TOKEN_STORAGE);

  private readonly client: oauth.Client = {
    client_id: this.config.clientId,
    [oauth.clockTolerance]: this.config.clockToleranceSeconds,
  };
  private readonly clientAuth = oauth.None();
  private readonly discoveryKey = `${this.config.storageNamespace}:discovery`;
  private metadata: Promise<oauth.AuthorizationServer> | null = null;
  private resolvedMetadata: oauth.AuthorizationServer | null = null;
  /**
   * oauth4webapi caches the JWKS per metadata object. A fresh copy of the metadata object is
   * how we make it download the JWKS again when a token is signed with a key it does not know.
   */
  private jwksKeyRef: oauth.AuthorizationServer | null = null;

  private get requestOptions() {
    return {
      [oauth.customFetch]: this.http.fetch,
      // Plain http is allowed only for a loopback authority; the config check enforces that.
      [oauth.allowInsecureRequests]: new URL(this.config.authority).protocol === 'http:',
      signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    };
  }

  /** The OP's metadata: from the cache when fresh, else from its discovery document. */
  discover(): Promise<oauth.AuthorizationServer> {
    this.metadata ??= this.loadMetadata().catch((error: unknown) => {
      this.metadata = null; // a failed discovery is retried on the next call
      throw error;
    });
    return this.metadata;
  }

  /**
   * The OP's metadata if it is already known (in memory or in the discovery cache), without
   * any request: for decisions that must not wait on the network.
   */
  knownMetadata(): oauth.AuthorizationServer | null {
    return this.resolvedMetadata ?? this.readCachedMetadata(new URL(this.config.authority), false);
  }

  private async loadMetadata(): Promise<oauth.AuthorizationServer> {
    const issuer = new URL(this.config.authority);
    const cached = this.readCachedMetadata(issuer);
    if (cached) return (this.resolvedMetadata = cached);
    try {
      const response = await oauth.discoveryRequest(issuer, this.requestOptions);
      const metadata = await oauth.processDiscoveryResponse(issuer, response);
      for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
        if (typeof metadata[endpoint] !== 'string') {
          throw new AuthError('discovery_failed', `The OP's discovery document has no ${endpoint}.`);
        }
      }
      this.storage.setItem(this.discoveryKey, JSON.stringify({ fetchedAt: this.clock.now(), metadata }));
      return (this.resolvedMetadata = metadata);
    } catch (error) {
      throw toAuthError(error, 'discovery');
    }
  }

  private readCachedMetadata(issuer: URL, discardInvalid = true): oauth.AuthorizationServer | null {
    try {
      const entry = JSON.parse(this.storage.getItem(this.discoveryKey) ?? 'null') as {
        fetchedAt?: unknown;
        metadata?: oauth.AuthorizationServer;
      } | null;
      const age = this.clock.now() - Number(entry?.fetchedAt);
      const metadata = entry?.metadata;
      if (
        metadata &&
        age >= 0 &&
        age < DISCOVERY_CACHE_MS &&
        typeof metadata.issuer === 'string' &&
        new URL(metadata.issuer).href === issuer.href &&
        typeof metadata.authorization_endpoint === 'string' &&
        typeof metadata.token_endpoint === 'string'
      ) {
        return metadata;
      }
    } catch {
      // corrupt cache entry: fall through and discard it
    }
    if (discardInvalid) this.storage.removeItem(this.discoveryKey);
    return null;
  }

  /** Builds an authorization request (code + PKCE S256) with a fresh state and nonce. */
  async createAuthorizationRequest(options: AuthorizationRequestOptions): Promise<{ url: URL; attempt: AuthorizationAttempt }> {
    const as = await this.discover();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const attempt: AuthorizationAttempt = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier,
      redirectUri: options.redirectUri,
    };
    const url = new URL(as.authorization_endpoint!);
    const params = url.searchParams;
    for (const [name, value] of Object.entries({ ...this.config.authorizeParams, ...options.params })) params.set(name, value);
    params.set('client_id', this.config.clientId);
    params.set('redirect_uri', options.redirectUri);
    params.set('response_type', 'code');
    params.set('scope', this.config.scope);
    params.set('state', attempt.state);
    params.set('nonce', attempt.nonce);
    params.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    params.set('code_challenge_method', 'S256');
    return { url, attempt };
  }

  /**
   * Checks an authorization response and redeems its code. The `iss` check (RFC 9207 2.4)
   * and the state check (RFC 6749 10.12) run before the code goes anywhere.
   */
  async completeAuthorization(responseUrl: URL, attempt: AuthorizationAttempt): Promise<Session> {
    const as = await this.discover();
    const params = responseUrl.searchParams;
    if (params.get('state') !== attempt.state) {
      throw new AuthError('state_mismatch', 'The authorization response does not belong to the sign-in attempt started in this browser.');
    }
    const iss = params.get('iss');
    if (iss !== null ? iss !== as.issuer : as.authorization_response_iss_parameter_supported === true) {
      throw new AuthError('iss_mismatch', 'The authorization response was not issued by the configured OP (RFC 9207 "iss" check failed).');
    }
    let callbackParams: URLSearchParams;
    try {
      callbackParams = oauth.validateAuthResponse(as, this.client, params, attempt.state);
    } catch (error) {
      throw toAuthError(error, 'authorization');
    }
    let response: Response;
    let result: oauth.TokenEndpointResponse;
    try {
      response = await oauth.authorizationCodeGrantRequest(as, this.client, this.clientAuth, callbackParams, attempt.redirectUri, attempt.codeVerifier, {
        ...this.requestOptions,
        additionalParameters: this.config.tokenParams,
      });
      // OIDC Core 3.1.3.7: iss, aud, azp, exp, iat and nonce are checked here.
      result = await oauth.processAuthorizationCodeResponse(as, this.client, response, {
        expectedNonce: attempt.nonce,
        requireIdToken: true,
      });
    } catch (error) {
      throw toAuthError(error, 'token');
    }
    await this.verifyIdTokenSignature(as, response);
    const claims = oauth.getValidatedIdTokenClaims(result) as IdTokenClaims | undefined;
    if (!claims) throw new AuthError('id_token_invalid', 'The token response has no ID token.');
    return this.toSession(result, claims, undefined);
  }

  /**
   * OIDC Core 3.1.3.7 step 6 lets a client skip the signature check for a token received
   * over TLS from the token endpoint; we check it anyway, against the OP's JWKS, so that a
   * compromised or misrouted connection cannot hand the app a forged identity.
   */
  private async verifyIdTokenSignature(as: oauth.AuthorizationServer, response: Response): Promise<void> {
    const options = this.requestOptions;
    this.jwksKeyRef ??= { ...as };
    try {
      await oauth.validateApplicationLevelSignature(this.jwksKeyRef, response, options);
    } catch (error) {
      if (!(error instanceof oauth.OperationProcessingError && error.code === oauth.KEY_SELECTION)) {
        throw toAuthError(error, 'id_token');
      }
      // Unknown key id: the OP may have rotated its keys. Download the JWKS once more.
      this.jwksKeyRef = { ...as };
      try {
        await oauth.validateApplicationLevelSignature(this.jwksKeyRef, response, options);
      } catch (retryError) {
        throw toAuthError(retryError, 'id_token');
      }
    }
  }

  /** Refresh-token grant (RFC 6749 6), with the ID token rules of OIDC Core 12.2. */
  async refresh(previous: Session): Promise<Session> {
    if (!previous.refreshToken) throw new AuthError('no_session', 'The session has no refresh token.');
    const as = await this.discover();
    let response: Response;
    let result: oauth.TokenEndpointResponse;
    try {
      response = await oauth.refreshTokenGrantRequest(as, this.client, this.clientAuth, previous.refreshToken, {
        ...this.requestOptions,
        additionalParameters: this.config.tokenParams,
      });
      result = await oauth.processRefreshTokenResponse(as, this.client, response);
    } catch (error) {
      throw toAuthError(error, 'token');
    }
    const claims = oauth.getValidatedIdTokenClaims(result) as IdTokenClaims | undefined;
    if (!claims) {
      // OIDC Core 12.2: the response may omit the ID token; the previous one stays.
      return this.toSession(result, previous.idTokenClaims, previous);
    }
    await this.verifyIdTokenSignature(as, response);
    checkRefreshedIdToken(claims, previous.idTokenClaims);
    return this.toSession(result, claims, previous);
  }

  /** Silent renewal through an authorization response (iframe): same checks as a sign-in, plus 12.2's same-user rule. */
  async completeSilentAuthorization(responseUrl: URL, attempt: AuthorizationAttempt, previous: Session): Promise<Session> {
    const session = await this.completeAuthorization(responseUrl, attempt);
    if (session.idTokenClaims.sub !== previous.idTokenClaims.sub) {
      throw new AuthError('id_token_invalid', 'The silent renewal signed in a different user than the current session.');
    }
    return { ...session, userInfo: previous.userInfo, chain: previous.chain, version: previous.version + 1 };
  }

  /** Userinfo (OIDC Core 5.3); its `sub` must equal the ID token's (5.3.4). */
  async fetchUserInfo(session: Session): Promise<Record<string, unknown>> {
    const as = await this.discover();
    if (!as.userinfo_endpoint) throw new AuthError('invalid_response', 'The OP has no userinfo endpoint; set loadUserInfo to false.');
    try {
      const response = await oauth.userInfoRequest(as, this.client, session.accessToken, this.requestOptions);
      const claims = await oauth.processUserInfoResponse(as, this.client, oauth.skipSubjectCheck, response);
      if (claims.sub !== session.idTokenClaims.sub) {
        throw new AuthError('userinfo_sub_mismatch', 'The userinfo response is about another user than the ID token; its claims were discarded.');
      }
      return { ...claims };
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

  /** RP-Initiated Logout 1.0 URL, or null when the OP has no end_session_endpoint. */
  async endSessionUrl(options: { idTokenHint?: string; postLogoutRedirectUri: string; state: string }): Promise<URL | null> {
    const as = await this.discover();
    if (!as.end_session_endpoint) return null;
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('client_id', this.config.clientId);
    if (options.idTokenHint) url.searchParams.set('id_token_hint', options.idTokenHint);
    url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    url.searchParams.set('state', options.state);
    return url;
  }

  private toSession(result: oauth.TokenEndpointResponse, claims: IdTokenClaims, previous: Session | undefined): Session {
    if (result.token_type !== 'bearer') {
      throw new AuthError('invalid_response', `The OP issued a "${result.token_type}" token; only bearer tokens are supported.`);
    }
    const now = this.clock.now();
    const lifetime = typeof result.expires_in === 'number' && result.expires_in > 0 ? result.expires_in : DEFAULT_ACCESS_TOKEN_SECONDS;
    return {
      accessToken: result.access_token,
      tokenType: result.token_type,
      expiresAt: now + lifetime * 1000,
      // An OP that does not rotate sends no new refresh token: keep the one we have.
      refreshToken: result.refresh_token ?? previous?.refreshToken,
      idToken: result.id_token ?? previous?.idToken,
      idTokenClaims: claims,
      userInfo: previous?.userInfo,
      scope: result.scope ?? previous?.scope,
      receivedAt: now,
      // A renewal continues its sign-in's chain; a sign-in starts a new one.
      chain: previous?.chain ?? newChainId(),
      version: previous ? previous.version + 1 : 0,
    };
  }
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
  if (problem) throw new AuthError('id_token_invalid', `The refreshed ID token was rejected: ${problem} (OIDC Core 12.2).`);
}
