import { Injectable, inject } from '@angular/core';
import { AUTH_CONFIG } from '../config/auth-config';
import { AuthError, isAuthError } from '../errors';
import { OidcProtocol } from '../protocol/oidc-protocol';
import { AuthStateHub } from '../session/auth-events';
import { RenewTrigger } from '../session/auth-state';
import { Session } from '../session/session';
import { SessionStore } from '../session/session-store';
import { AUTH_CLOCK } from '../time/clock';

export interface RenewCallbacks {
  onRenewed(session: Session): void;
  onSessionEnded(error: AuthError | null): void;
}

/**
 * Renews the session's tokens. Every caller (getAccessToken, a forced renew, start-up)
 * shares the renewal in progress: there is never more than one at a time.
 */
@Injectable({ providedIn: 'root' })
export class SessionRenewer {
  private readonly config = inject(AUTH_CONFIG);
  private readonly protocol = inject(OidcProtocol);
  private readonly store = inject(SessionStore);
  private readonly hub = inject(AuthStateHub);
  private readonly clock = inject(AUTH_CLOCK);
  private callbacks: RenewCallbacks | null = null;
  private inFlight: Promise<Session> | null = null;
  private generation = 0;

  attach(callbacks: RenewCallbacks): void {
    this.callbacks = callbacks;
  }

  renew(trigger: RenewTrigger): Promise<Session> {
    this.inFlight ??= this.run(trigger).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Forgets any renewal in progress: its result will not be stored (logout). */
  cancel(): void {
    this.generation++;
    this.inFlight = null;
  }

  private async run(trigger: RenewTrigger): Promise<Session> {
    const generation = this.generation;
    const current = this.store.session() ?? this.store.load();
    if (!current) throw new AuthError('no_session', 'There is no session to renew.');
    if (this.config.renew.strategy === 'none' || !current.refreshToken) {
      const error = new AuthError('no_session', 'The access token expired and this session cannot be renewed.');
      this.callbacks?.onSessionEnded(error);
      throw error;
    }
    this.hub.emit({ type: 'renew_started', at: this.clock.now(), trigger });
    try {
      const renewed = await this.protocol.refresh(current);
      if (generation !== this.generation) throw new AuthError('no_session', 'The session ended while it was being renewed.');
      this.store.set(renewed);
      this.callbacks?.onRenewed(renewed);
      this.hub.emit({ type: 'token_renewed', at: this.clock.now(), expiresAt: renewed.expiresAt });
      return renewed;
    } catch (caught) {
      const error = isAuthError(caught) ? caught : new AuthError('token_error', 'The renewal failed.');
      const failureClass = error.retryable ? 'transient' : 'permanent';
      this.hub.emit({ type: 'renew_failed', at: this.clock.now(), error, failureClass, retryInMs: null });
      if (failureClass === 'permanent' && generation === this.generation) this.callbacks?.onSessionEnded(error);
      throw error;
    }
  }
}
