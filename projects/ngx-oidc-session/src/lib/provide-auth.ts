import {
  EnvironmentProviders,
  ModuleWithProviders,
  NgModule,
  Provider,
  inject,
  makeEnvironmentProviders,
  provideAppInitializer,
} from '@angular/core';
import { AuthService } from './auth.service';
import { AUTH_CONFIG, AuthConfig, resolveAuthConfig } from './core/config';
import { AuthBrowser } from './platform/browser';
import { AUTH_CLOCK, Clock } from './platform/clock';
import { SilentSignIn, SilentSignInOptions } from './silent/silent-sign-in';
import { START_UP_SIGN_IN } from './state/start-up-sign-in';

/** The kinds of optional features of provideAuth(). */
export type AuthFeatureKind = 'clock' | 'silent-sign-in' | 'popup' | 'name' | 'dpop' | 'session-monitor';

/**
 * A feature of provideAuth(), made by one of the `with...()` functions. Its members are
 * internal (as with Angular's `HttpFeature`): an app passes it on and never reads it.
 */
export interface AuthFeature<Kind extends AuthFeatureKind = AuthFeatureKind> {
  readonly ɵkind: Kind;
  readonly ɵproviders: (Provider | EnvironmentProviders)[];
  /**
   * Set by withName() only: registers the config as a named instance instead of the default
   * one. A hook rather than an import, so that an app without named instances ships none of it.
   */
  readonly ɵinstance?: (config: AuthConfig, features: readonly AuthFeature[]) => EnvironmentProviders;
}

export function authFeature<Kind extends AuthFeatureKind>(kind: Kind, providers: (Provider | EnvironmentProviders)[]): AuthFeature<Kind> {
  return { ɵkind: kind, ɵproviders: providers };
}

/**
 * Replaces the clock the library reads the time from and sets its timers with. For tests
 * of an app's own timing; apps do not need it.
 */
export function withClock(clock: Clock): AuthFeature<'clock'> {
  return authFeature('clock', [{ provide: AUTH_CLOCK, useValue: clock }]);
}

/**
 * Silent sign-in at start-up: when a page opens with no session (and brings no sign-in or
 * logout response), one hidden prompt=none request signs the user in if their session at the OP
 * exists; otherwise they stay unauthenticated, with no redirect. Once per page load, bounded as
 * a whole by `timeoutSeconds`, never after this tab's logout nor (shared tabs) while the last
 * thing recorded in the browser is a logout, never inside a frame; the outcome comes as a
 * `silent_sign_in` event. Needs
 * `renew.silentRenewUrl` (the page ng add generates).
 *
 * ```ts
 * provideAuth(config, withSilentSignIn({ timeoutSeconds: 5 }))
 * ```
 */
export function withSilentSignIn(options: SilentSignInOptions = {}): AuthFeature<'silent-sign-in'> {
  return authFeature('silent-sign-in', [{ provide: START_UP_SIGN_IN, useFactory: () => new SilentSignIn(options) }]);
}

/** Each with...() feature at most once per provideAuth(); called in dev mode only. */
export function checkFeatures(features: readonly AuthFeature[]): void {
  const kinds = features.map((feature) => feature.ɵkind);
  const repeated = kinds.find((kind, index) => kinds.indexOf(kind) !== index);
  if (repeated) {
    throw new Error(`ngx-oidc-session: provideAuth() got the "${repeated}" feature twice; pass each with...() feature once.`);
  }
}

function authProviders(config: AuthConfig, features: readonly AuthFeature[]): (Provider | EnvironmentProviders)[] {
  if (ngDevMode) checkFeatures(features);
  return [
    {
      provide: AUTH_CONFIG,
      // Validated once, when the app starts: a wrong config fails loudly, naming the key.
      useFactory: () => {
        const browser = inject(AuthBrowser);
        return resolveAuthConfig(config, browser.isBrowser ? browser.origin : null);
      },
    },
    ...features.flatMap((feature) => feature.ɵproviders),
  ];
}

/**
 * Sets up OpenID Connect sign-in for a standalone app: the config, the AuthService, and an
 * app initializer that handles the authorization callback (or restores the stored session)
 * before the router's first navigation.
 *
 * ```ts
 * bootstrapApplication(App, {
 *   providers: [
 *     provideHttpClient(withInterceptors([authInterceptor])),
 *     provideAuth({ authority: 'https://login.example.com', clientId: 'my-spa' }),
 *   ],
 * });
 * ```
 *
 * @see AuthConfig
 * @see AuthService
 */
export function provideAuth(config: AuthConfig, ...features: AuthFeature[]): EnvironmentProviders {
  return (features.find((feature) => feature.ɵinstance)?.ɵinstance ?? defaultInstance)(config, features);
}

function defaultInstance(config: AuthConfig, features: readonly AuthFeature[]): EnvironmentProviders {
  return makeEnvironmentProviders([authProviders(config, features), provideAppInitializer(() => inject(AuthService).initialize())]);
}

/**
 * provideAuth() for NgModule apps: `imports: [AuthModule.forRoot(config)]`, and for a named
 * instance `AuthModule.forRoot(partnerConfig, withName('partner'))`.
 */
@NgModule()
export class AuthModule {
  static forRoot(config: AuthConfig, ...features: AuthFeature[]): ModuleWithProviders<AuthModule> {
    return {
      ngModule: AuthModule,
      providers: [provideAuth(config, ...features)],
    };
  }
}
