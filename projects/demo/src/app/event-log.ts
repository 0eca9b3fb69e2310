import { Injectable, inject, signal } from '@angular/core';
import { AuthEvent, AuthService } from 'ngx-oidc-session';

export interface LoggedEvent {
  readonly time: string;
  readonly type: AuthEvent['type'];
  readonly detail: string;
}

function describe(event: AuthEvent): string {
  switch (event.type) {
    case 'signed_in':
      return `as ${event.user.name ?? event.user.sub}`;
    case 'signed_out':
      return event.reason;
    case 'renew_started':
      return `trigger: ${event.trigger}`;
    case 'token_renewed':
      return `new token valid until ${new Date(event.expiresAt).toLocaleTimeString()}`;
    case 'renew_failed':
      return `${event.failureClass} ${event.error.code}${event.retryInMs !== null ? `, retry in ${Math.round(event.retryInMs / 1000)} s` : ''}`;
    case 'error':
      return `${event.error.code}: ${event.error.message}`;
    case 'session_expired':
      return event.error ? event.error.code : '';
    case 'session_monitor':
      return `${event.status}${event.error ? ` (${event.error.code})` : ''}`;
    case 'silent_sign_in':
      return `${event.outcome}${event.error ? ` (${event.error.details.oauthError ?? event.error.code})` : ''}`;
    default:
      return '';
  }
}

/** Keeps the library's events from app start on (the sign-in happens before any page renders). */
@Injectable({ providedIn: 'root' })
export class EventLog {
  private readonly entries = signal<LoggedEvent[]>([]);
  readonly events = this.entries.asReadonly();

  constructor() {
    inject(AuthService).events$.subscribe((event) => {
      const entry = { time: new Date(event.at).toLocaleTimeString(), type: event.type, detail: describe(event) };
      this.entries.update((list) => [entry, ...list].slice(0, 50));
    });
  }
}
