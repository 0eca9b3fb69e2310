// auth-features.ts of the "ngx-oidc-session-dpop" variant: the same app with DPoP-bound tokens.
import { AuthFeature, withDPoP } from 'ngx-oidc-session';

export const AUTH_FEATURES: AuthFeature[] = [withDPoP()];
