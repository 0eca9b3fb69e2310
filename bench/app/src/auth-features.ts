// The features the ngx-oidc-session variant of the bench app passes to provideAuth(): none.
// The variant "ngx-oidc-session-dpop" replaces this file with auth-features.dpop.ts
// (fileReplacements in bench/angular.json), so that the two builds differ by withDPoP() alone.
import type { AuthFeature } from 'ngx-oidc-session';

export const AUTH_FEATURES: AuthFeature[] = [];
