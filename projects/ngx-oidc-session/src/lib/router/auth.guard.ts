import { Location } from '@angular/common';
import { inject } from '@angular/core';
import { CanActivateFn, CanMatchFn, Route, UrlSegment } from '@angular/router';
import { filter, firstValueFrom } from 'rxjs';
import { AuthService } from '../auth.service';
import { injectAuth } from '../multi/named-instances';
import { AuthBrowser } from '../platform/browser';

const routePath = (segments: UrlSegment[]) => '/' + segments.map((segment) => segment.path).join('/');

async function allowOrSignIn(routerUrl: string, authOf: () => AuthService = () => inject(AuthService)): Promise<boolean> {
  if (!inject(AuthBrowser).isBrowser) return false; // no session on the server: render nothing protected
  const auth = authOf();
  const location = inject(Location);
  await auth.initialize();
  const state = await firstValueFrom(auth.state$.pipe(filter((current) => current.status !== 'unknown')));
  if (state.status === 'authenticated') return true;
  // The return URL carries the app's base href, so the app comes back to this very route.
  await auth.login({ returnUrl: location.prepareExternalUrl(routerUrl) });
  return false;
}

/**
 * Lets a signed-in user in; sends anyone else to sign in and brings them back to the route
 * they asked for. `{ path: 'orders', component: Orders, canActivate: [authGuard] }`
 */
export const authGuard: CanActivateFn = (_route, state) => allowOrSignIn(state.url);

/** authGuard for `canMatch`: lazy routes are not even loaded for a signed-out user. */
export const authMatchGuard: CanMatchFn = (_route: Route, segments: UrlSegment[]) => allowOrSignIn(routePath(segments));

/**
 * authGuard for a named instance (see withName()): lets in a user signed in to that instance,
 * sends anyone else to sign in there. `canActivate: [authGuardFor('partner')]`
 */
export function authGuardFor(name: string): CanActivateFn {
  return (_route, state) => allowOrSignIn(state.url, () => injectAuth(name));
}

/** authMatchGuard for a named instance: `canMatch: [authMatchGuardFor('partner')]`. */
export function authMatchGuardFor(name: string): CanMatchFn {
  return (_route: Route, segments: UrlSegment[]) => allowOrSignIn(routePath(segments), () => injectAuth(name));
}
