import { Injectable, inject } from '@angular/core';
import type { AuthorizationServer } from 'oauth4webapi';
import { AUTH_CONFIG } from '../core/config';
import { AUTH_CLOCK } from '../platform/clock';
import { TOKEN_STORAGE } from '../platform/web-storage';

const DISCOVERY_CACHE_MS = 60 * 60 * 1000;

/**
 * The OP's metadata as last discovered, kept beside the session for an hour, so that a
 * reload with a valid session needs no request to the OP, and the interceptor knows the OP's
 * endpoints without loading the protocol code.
 */
@Injectable({ providedIn: 'root' })
export class DiscoveryCache {
  private readonly config = inject(AUTH_CONFIG);
  private readonly storage = inject(TOKEN_STORAGE);
  private readonly clock = inject(AUTH_CLOCK);
  private readonly key = `${this.config.storageNamespace}:discovery`;
  /** The metadata this page discovered or read, once known. */
  private known: AuthorizationServer | null = null;

  /** The OP's metadata when known and fresh, else null; an unusable entry is removed. */
  read(): AuthorizationServer | null {
    if (this.known) return this.known;
    try {
      const entry = JSON.parse(this.storage.getItem(this.key) ?? 'null') as { fetchedAt?: unknown; metadata?: AuthorizationServer } | null;
      const age = this.clock.now() - Number(entry?.fetchedAt);
      const metadata = entry?.metadata;
      if (
        metadata &&
        age >= 0 &&
        age < DISCOVERY_CACHE_MS &&
        typeof metadata.issuer === 'string' &&
        // tenantIssuer: the template, compared as a string (new URL() would percent-encode its braces).
        (this.config.tenantIssuer ? metadata.issuer === this.config.tenantIssuer.template : new URL(metadata.issuer).href === new URL(this.config.authority).href) &&
        typeof metadata.authorization_endpoint === 'string' &&
        typeof metadata.token_endpoint === 'string'
      ) {
        return (this.known = metadata);
      }
    } catch {
      // corrupt entry: discarded below
    }
    this.storage.removeItem(this.key);
    return null;
  }

  write(metadata: AuthorizationServer): void {
    this.known = metadata;
    this.storage.setItem(this.key, JSON.stringify({ fetchedAt: this.clock.now(), metadata }));
  }
}
