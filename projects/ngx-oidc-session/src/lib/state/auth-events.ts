import { Injectable } from '@angular/core';
import { Observable, Subject } from 'rxjs';
import { AuthEvent } from '../core/auth-state';

/** The event stream of AuthService.events$: what happens, as it happens, never replayed. */
@Injectable({ providedIn: 'root' })
export class AuthEvents {
  private readonly subject = new Subject<AuthEvent>();
  readonly events$: Observable<AuthEvent> = this.subject.asObservable();

  emit(event: AuthEvent): void {
    this.subject.next(event);
  }
}
