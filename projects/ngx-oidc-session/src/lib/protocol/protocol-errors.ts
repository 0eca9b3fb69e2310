import * as oauth from 'oauth4webapi';
import { AuthError, AuthErrorCode } from '../core/errors';

/** `par`: the pushed authorization request (RFC 9126 2), a back-channel step of the authorization request. */
export type ProtocolStage = 'discovery' | 'authorization' | 'par' | 'token' | 'id_token' | 'userinfo' | 'revocation';

const STAGE_CODES: Record<ProtocolStage, AuthErrorCode> = {
  discovery: 'discovery_failed',
  authorization: 'authorization_error',
  par: 'authorization_error',
  token: 'token_error',
  id_token: 'id_token_invalid',
  userinfo: 'invalid_response',
  revocation: 'revocation_failed',
};

/** oauth4webapi's codes for a failed check of the ID token's claims or key (OIDC Core 3.1.3.7). */
const ID_TOKEN_CHECKS = new Set<string>([oauth.JWT_CLAIM_COMPARISON, oauth.JWT_TIMESTAMP_CHECK, oauth.KEY_SELECTION]);

/** A malformed ID token: oauth4webapi names its claims or header in the error's cause. */
function aboutTheIdToken(error: oauth.OperationProcessingError): boolean {
  const cause = error.cause;
  return error.code === oauth.INVALID_RESPONSE && typeof cause === 'object' && cause !== null && ('claims' in cause || 'header' in cause);
}

/**
 * The OAuth error codes a spec defines as final: the same request will get the same answer, so
 * a renewal that gets one ends the session (RFC 6749 4.1.2.1 and 5.2, OIDC Core 3.1.2.6,
 * RFC 6750 3.1). Any other code (an extension, or one a proxy made up) and the "try later"
 * codes (server_error, temporarily_unavailable, slow_down) are not trusted to end a session.
 */
const FINAL_OAUTH_ERRORS = new Set<string>([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'unsupported_response_type',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
  'invalid_token',
  'insufficient_scope',
]);

/**
 * A response that is not a well-formed OAuth response at all, by oauth4webapi's codes: an
 * unexpected status without an OAuth error body (a redirect, a proxy's 404), a body that is not
 * JSON (a captive portal's or a WAF's HTML page) or not parseable (truncated), or a JSON body
 * without the members every such response has (a 200 without `access_token`). Whatever sits
 * between the app and the OP produces these, so they are transient: the OP has not refused the
 * session. Problems of the ID token itself (its claims, header or signature) are not in this set.
 */
function isMalformedResponse(error: oauth.OperationProcessingError): boolean {
  switch (error.code) {
    case oauth.RESPONSE_IS_NOT_CONFORM:
    case oauth.RESPONSE_IS_NOT_JSON:
    case oauth.PARSE_ERROR:
      return true;
    case oauth.INVALID_RESPONSE: {
      const cause = error.cause;
      return typeof cause === 'object' && cause !== null && 'body' in cause && !aboutTheIdToken(error);
    }
    default:
      return false;
  }
}

/**
 * Turns whatever oauth4webapi or the network threw into an AuthError, by oauth4webapi's error
 * classes and codes (never by message text). The original error is deliberately not kept as
 * `cause`: oauth4webapi attaches response bodies there, and those can hold tokens. Only
 * protocol error codes and HTTP statuses survive.
 */
export function toAuthError(error: unknown, stage: ProtocolStage): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthError('authorization_error', ngDevMode ? `The OP refused the authorization request: ${error.error}.` : '', false, {
      oauthError: error.error,
      oauthErrorDescription: error.error_description,
    });
  }
  if (error instanceof oauth.ResponseBodyError) {
    const unavailable = error.status >= 500 || error.status === 429;
    const retryable = unavailable || !FINAL_OAUTH_ERRORS.has(error.error);
    return new AuthError(unavailable ? 'network_error' : stage === 'id_token' ? 'token_error' : STAGE_CODES[stage], ngDevMode ? `The OP answered ${error.status} ${error.error} at the ${stage} step.` : '', retryable, {
      oauthError: error.error,
      oauthErrorDescription: error.error_description,
      status: error.status,
    });
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new AuthError(STAGE_CODES[stage], ngDevMode ? `The OP sent an authentication challenge (${error.status}) at the ${stage} step.` : '', false, { status: error.status });
  }
  if (error instanceof oauth.OperationProcessingError) {
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    if (error.code === oauth.RESPONSE_IS_NOT_CONFORM && status !== undefined && (status >= 500 || status === 429)) {
      return new AuthError('network_error', ngDevMode ? `The OP answered HTTP ${status} at the ${stage} step.` : '', true, { status });
    }
    if (isMalformedResponse(error)) {
      const code = stage === 'discovery' ? 'discovery_failed' : stage === 'revocation' ? 'revocation_failed' : 'invalid_response';
      return new AuthError(code, ngDevMode ? `The OP's ${stage} response is not a well-formed OAuth response (${error.code}); it is retried like a network failure.` : '', true, status === undefined ? {} : { status });
    }
    if (stage === 'discovery' && error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      return new AuthError('issuer_mismatch', ngDevMode ? "The OP's discovery document names another issuer than config.authority; they must be equal." : '');
    }
    if (stage === 'userinfo' && error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      // OIDC Core 5.3.4: the userinfo response's sub must be the ID token's.
      return new AuthError('userinfo_sub_mismatch', ngDevMode ? 'The userinfo response is about another user than the ID token; its claims were discarded.' : '');
    }
    if (stage === 'id_token' || ID_TOKEN_CHECKS.has(error.code ?? '') || aboutTheIdToken(error)) {
      return new AuthError('id_token_invalid', ngDevMode ? `The ID token was rejected: ${error.message}.` : '', false, { status });
    }
    return new AuthError(stage === 'discovery' ? 'discovery_failed' : 'invalid_response', ngDevMode ? `The OP's ${stage} response is not acceptable: ${error.message}.` : '', false, { status });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new AuthError(stage === 'token' || stage === 'id_token' ? 'id_token_invalid' : STAGE_CODES[stage], ngDevMode ? `Unsupported by this client: ${error.message}.` : '');
  }
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new AuthError('timeout', ngDevMode ? `The OP did not answer in time at the ${stage} step.` : '', true);
  }
  if (error instanceof TypeError && (error as { code?: unknown }).code === undefined) {
    // fetch() rejects with a TypeError when no HTTP answer came (offline, DNS, CORS refusal).
    return new AuthError('network_error', ngDevMode ? `The OP could not be reached at the ${stage} step.` : '', true);
  }
  return new AuthError(STAGE_CODES[stage], ngDevMode ? `The ${stage} step failed.` : '', false);
}
