// Only the protocol chunk and named instances use these: kept out of the start-up bundle.
import { RESPONSE_PARAMS } from './sign-in-attempts';

/**
 * A callback URL as two are compared: origin, path and query, without the response parameters
 * (in the order the OP appended them after the redirect_uri's own query) and without fragment.
 */
export function callbackKey(url: URL): string {
  const clean = new URL(url.href);
  for (const name of RESPONSE_PARAMS) clean.searchParams.delete(name);
  clean.hash = '';
  return clean.href;
}

/**
 * Whether an authorization response arrived at the redirect_uri its request named. RFC 9700
 * 4.4.2: with a redirect URI per issuer, a response that the OP of one instance sends to the
 * redirect URI of another one (a mix-up attack) is refused before its code goes anywhere.
 */
export function isResponseAt(responseUrl: URL, redirectUri: string): boolean {
  return callbackKey(responseUrl) === callbackKey(new URL(redirectUri));
}
