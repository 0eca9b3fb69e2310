import * as oauth from 'oauth4webapi';
import { AuthError, AuthErrorCode } from '../errors';

export type ProtocolStage = 'discovery' | 'authorization' | 'token' | 'id_token' | 'userinfo' | 'revocation';

const STAGE_CODES: Record<ProtocolStage, AuthErrorCode> = {
  discovery: 'discovery_failed',
  authorization: 'authorization_error',
  token: 'token_error',
  id_token: 'id_token_invalid',
  userinfo: 'invalid_response',
  revocation: 'revocation_failed',
};

const ID_TOKEN_CHECKS = new Set<string>([oauth.JWT_CLAIM_COMPARISON, oauth.JWT_TIMESTAMP_CHECK, oauth.KEY_SELECTION]);

/**
 * Turns whatever oauth4webapi or the network threw into an AuthError. The original error is
 * deliberately not kept as `cause`: oauth4webapi attaches response bodies there, and those
 * can hold tokens. Only protocol error codes and HTTP statuses survive.
 */
export function toAuthError(error: unknown, stage: ProtocolStage): AuthError {
  if (error instanceof AuthError) return error;

  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthError('authorization_error', `The OP refused the authorization request: ${error.error}.`, false, {
      oauthError: error.error,
      oauthErrorDescription: error.error_description,
    });
  }
  if (error instanceof oauth.ResponseBodyError) {
    const retryable = error.status >= 500;
    return new AuthError(retryable ? 'network_error' : STAGE_CODES[stage] === 'id_token_invalid' ? 'token_error' : STAGE_CODES[stage], `The OP answered ${error.status} ${error.error} at the ${stage} step.`, retryable, {
      oauthError: error.error,
      oauthErrorDescription: error.error_description,
      status: error.status,
    });
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new AuthError(STAGE_CODES[stage], `The OP sent an authentication challenge (${error.status}) at the ${stage} step.`, false, {
      status: error.status,
    });
  }
  if (error instanceof oauth.OperationProcessingError) {
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    if (error.code === oauth.RESPONSE_IS_NOT_CONFORM && status !== undefined && (status >= 500 || status === 429)) {
      return new AuthError('network_error', `The OP answered HTTP ${status} at the ${stage} step.`, true, { status });
    }
    if (stage === 'discovery' && error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      return new AuthError('issuer_mismatch', "The OP's discovery document names another issuer than config.authority; they must be equal.");
    }
    if (stage === 'authorization') {
      return new AuthError('invalid_response', `The authorization response is not acceptable: ${error.message}.`);
    }
    if (ID_TOKEN_CHECKS.has(error.code ?? '') || stage === 'id_token' || /id_token|ID Token|JWS|JWT/i.test(error.message)) {
      return new AuthError('id_token_invalid', `The ID token was rejected: ${error.message}.`, false, { status });
    }
    return new AuthError(stage === 'discovery' ? 'discovery_failed' : 'invalid_response', `The OP's ${stage} response is not acceptable: ${error.message}.`, false, { status });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new AuthError(stage === 'token' || stage === 'id_token' ? 'id_token_invalid' : STAGE_CODES[stage], `Unsupported by this client: ${error.message}.`);
  }
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new AuthError('timeout', `The OP did not answer in time at the ${stage} step.`, true);
  }
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return new AuthError('network_error', `The OP could not be reached at the ${stage} step.`, true);
  }
  if (stage === 'discovery') {
    return new AuthError('discovery_failed', 'The OP discovery document could not be loaded.', false);
  }
  return new AuthError(STAGE_CODES[stage], `The ${stage} step failed.`, false);
}
