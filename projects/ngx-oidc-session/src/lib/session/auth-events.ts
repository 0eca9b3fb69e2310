import { Injectable, computed, signal } from '@angular/core';
import { BehaviorSubject, Observable, Subject, distinctUntilChanged, map } from 'rxjs';
import { AuthError } from '../errors';
import { AuthEvent, AuthState } from './auth-state';

const INITIAL_STATE: AuthState = { status: 'unknown', user: null, accessTokenExpiresAt: null, error: null };

/** Holds the derived auth state (as observable and signal) and the event stream. Internal. */
@Injectable({ providedIn: 'root' })
export class AuthStateHub {
  private readonly subject = new BehaviorSubject<AuthState>(INITIAL_STATE);
  private readonly stateSignal = signal<AuthState>(INITIAL_STATE);
  private readonly eventSubject = new Subject<AuthEvent>();

  readonly state$: Observable<AuthState> = this.subject.asObservable();
  readonly state = this.stateSignal.asReadonly();
  readonly events$: Observable<AuthEvent> = this.eventSubject.asObservable();
  readonly isAuthenticated = computed(() => this.stateSignal().status === 'authenticated');
  readonly user = computed(() => this.stateSignal().user);
  readonly isAuthenticated$ = this.state$.pipe(
    map((state) => state.status === 'authenticated'),
    distinctUntilChanged(),
  );
  readonly user$ = this.state$.pipe(
    map((state) => state.user),
    distinctUntilChanged(),
  );

  get snapshot(): AuthState {
    return this.subject.value;
  }

  setState(next: AuthState): void {
    this.stateSignal.set(next);
    this.subject.next(next);
  }

  emit(event: AuthEvent): void {
    this.eventSubject.next(event);
  }

  fail(error: AuthError, at: number, status: AuthState['status'] = 'unauthenticated'): void {
    this.setState({ status, user: status === 'authenticated' ? this.snapshot.user : null, accessTokenExpiresAt: status === 'authenticated' ? this.snapshot.accessTokenExpiresAt : null, error });
    this.emit({ type: 'error', at, error });
  }
}
