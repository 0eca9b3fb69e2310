import { AuthFeature, authFeature } from '../provide-auth';

/**
 * Sender-constrained tokens (DPoP, RFC 9449). Skeleton: the providers are being built
 * (issue 17).
 */
export function withDPoP(): AuthFeature<'dpop'> {
  return authFeature('dpop', []);
}
