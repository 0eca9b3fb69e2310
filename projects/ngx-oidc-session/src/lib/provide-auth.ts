import {
  EnvironmentProviders,
  ModuleWithProviders,
  NgModule,
  Provider,
  inject,
  makeEnvironmentProviders,
  provideAppInitializer,
} from '@angular/core';
import { AUTH_CONFIG, AuthConfig, resolveAuthConfig } from './config/auth-config';
import { AuthService } from './session/auth.service';
import { AuthBrowser } from './session/browser';
import { AUTH_CLOCK, Clock } from './time/clock';

export type AuthFeatureKind = 'clock';

/** A feature of provideAuth(), made by one of the `with...()` functions. */
export interface AuthFeature<Kind extends AuthFeatureKind = AuthFeatureKind> {
  readonly kind: Kind;
  readonly providers: Provider[];
}

/**
 * Replaces the clock the library reads the time from and sets its timers with. For tests
 * of an app's own timing; apps do not need it.
 */
export function withClock(clock: Clock): AuthFeature<'clock'> {
  return { kind: 'clock', providers: [{ provide: AUTH_CLOCK, useValue: clock }] };
}

function authProviders(config: AuthConfig, features: readonly AuthFeature[]): Provider[] {
  const kinds = features.map((feature) => feature.kind);
  const repeated = kinds.find((kind, index) => kinds.indexOf(kind) !== index);
  if (repeated) {
    throw new Error(`ngx-oidc-session: provideAuth() got the "${repeated}" feature twice; pass each with...() feature once.`);
  }
  return [
    {
      provide: AUTH_CONFIG,
      // Validated once, when the app starts: a wrong config fails loudly, naming the key.
      useFactory: () => resolveAuthConfig(config, inject(AuthBrowser).origin),
    },
    ...features.flatMap((feature) => feature.providers),
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
  return makeEnvironmentProviders([
    authProviders(config, features),
    provideAppInitializer(() => inject(AuthService).initialize()),
  ]);
}

/** provideAuth() for NgModule apps: `imports: [AuthModule.forRoot(config)]`. */
@NgModule()
export class AuthModule {
  static forRoot(config: AuthConfig, ...features: AuthFeature[]): ModuleWithProviders<AuthModule> {
    return {
      ngModule: AuthModule,
      providers: [provideAuth(config, ...features)],
    };
  }
}
