// auth-features.ts of the "ngx-oidc-session-dpop" variant: the same app with DPoP-bound tokens.
import type { AuthFeature } from 'ngx-oidc-session';
import { withDPoP } from 'ngx-oidc-session/dpop';

export const AUTH_FEATURES: AuthFeature[] = [withDPoP()];
