import { HttpBackend, HttpEvent, HttpResponse } from '@angular/common/http';
import { NEVER, Observable, of } from 'rxjs';
import { backendFetch } from './oidc-http';

const backendAnswering = (answer: Observable<HttpEvent<unknown>>): HttpBackend => ({ handle: () => answer });
const refreshGrant = () => ({ method: 'POST', headers: {}, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt-secret' }) });

describe('backendFetch (the requests to the OP)', () => {
  afterEach(() => jasmine.clock().uninstall());

  it('keeps nothing of the request once the answer is in: no abort listener, no timer', async () => {
    const listeners: unknown[] = [];
    spyOn(AbortSignal.prototype, 'addEventListener').and.callFake((_type: string, listener: unknown) => void listeners.push(listener));
    spyOn(AbortSignal.prototype, 'removeEventListener').and.callFake((_type: string, listener: unknown) => {
      listeners.splice(listeners.indexOf(listener), 1);
    });
    const timeout = spyOn(AbortSignal, 'timeout').and.callThrough();
    const clear = spyOn(window, 'clearTimeout').and.callThrough();
    const response = await backendFetch(backendAnswering(of(new HttpResponse({ status: 200, body: '{}' }))), 15_000)('https://op.example.com/token', refreshGrant());
    expect(response.status).toBe(200);
    expect(listeners).toEqual([]); // a listener would hold the body with its refresh token
    expect(timeout).not.toHaveBeenCalled(); // a timeout signal lives on until it fires
    expect(clear).toHaveBeenCalled();
  });

  it('gives up with a TimeoutError when the OP does not answer in time', async () => {
    jasmine.clock().install();
    const answer = backendFetch(backendAnswering(NEVER), 15_000)('https://op.example.com/token', refreshGrant());
    const failed = answer.then(
      () => null,
      (error: unknown) => error,
    );
    jasmine.clock().tick(15_000);
    const error = await failed;
    expect(error instanceof DOMException && error.name).toBe('TimeoutError');
  });
});
