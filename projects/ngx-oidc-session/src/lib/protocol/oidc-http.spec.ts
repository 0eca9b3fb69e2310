import { OpFetch } from '../platform/op-fetch';
import { opFetch } from './oidc-http';

const refreshGrant = () => ({ method: 'POST', headers: {}, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt-secret' }) });

/** Answers like a browser's fetch: at once, or never until the request is aborted. */
const answering =
  (response: Response | null): OpFetch =>
  (_url, init) =>
    response
      ? Promise.resolve(response)
      : new Promise<Response>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));

describe('opFetch (the requests to the OP)', () => {
  afterEach(() => jasmine.clock().uninstall());

  it('keeps no timer once the answer is in, and no timeout signal that outlives the request', async () => {
    const timeout = spyOn(AbortSignal, 'timeout').and.callThrough();
    const clear = spyOn(window, 'clearTimeout').and.callThrough();
    const response = await opFetch(answering(new Response('{}', { status: 200 })), 15_000)('https://op.example.com/token', refreshGrant());
    expect(response.status).toBe(200);
    // A timeout signal lives until it fires, and with it the request body (a refresh token).
    expect(timeout).not.toHaveBeenCalled();
    expect(clear).toHaveBeenCalled();
  });

  it('gives up with a TimeoutError when the OP does not answer in time', async () => {
    jasmine.clock().install();
    const failed = opFetch(answering(null), 15_000)('https://op.example.com/token', refreshGrant()).then(
      () => null,
      (error: unknown) => error,
    );
    jasmine.clock().tick(15_000);
    const error = await failed;
    expect(error instanceof DOMException && error.name).toBe('TimeoutError');
  });
});
