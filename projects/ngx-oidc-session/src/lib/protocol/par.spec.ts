import { PushedAuthorizationMode } from '../core/config';
import { AuthHarness } from '../../testing/harness';
import { FakeReply } from '../../testing/fake-op';
import { nextIframe, post, removeSilentIframes } from '../../testing/silent-iframe';
import { SILENT_RENEW_MESSAGE } from './iframe-renew';

const PAR_PATH = '/par';

/** A harness whose fake OP has a PAR endpoint (RFC 9126) that remembers each pushed request by its request_uri. */
async function harnessWithPar(
  mode: PushedAuthorizationMode | undefined,
  { offered = true, required = false, config = {} }: { offered?: boolean; required?: boolean; config?: object } = {},
): Promise<{ harness: AuthHarness; pushed: Map<string, URLSearchParams> }> {
  const harness = await AuthHarness.create({ ...(mode ? { pushedAuthorization: mode } : {}), ...config });
  const pushed = new Map<string, URLSearchParams>();
  if (offered) harness.op.metadata['pushed_authorization_request_endpoint'] = `${harness.op.issuer}${PAR_PATH}`;
  if (required) harness.op.metadata['require_pushed_authorization_requests'] = true;
  harness.op.handlers[PAR_PATH] = (request) => {
    const requestUri = `urn:ietf:params:oauth:request_uri:${pushed.size + 1}`;
    pushed.set(requestUri, new URLSearchParams(String(request.body)));
    return harness.op.json({ request_uri: requestUri, expires_in: 60 }, 201);
  };
  return { harness, pushed };
}

/** The parameters an authorization URL stands for: its own, or those pushed for its request_uri. */
function effectiveParams(url: URL, pushed: Map<string, URLSearchParams>): URLSearchParams {
  const requestUri = url.searchParams.get('request_uri');
  return requestUri ? pushed.get(requestUri)! : url.searchParams;
}

describe('Pushed authorization requests (RFC 9126)', () => {
  afterEach(removeSilentIframes);

  it('auto, with the OP offering PAR: pushes the request, and the browser carries only client_id and request_uri', async () => {
    const { harness, pushed } = await harnessWithPar(undefined);
    await harness.load();
    await harness.auth.login({ prompt: 'login', acrValues: 'urn:loa:2' });
    const url = new URL(harness.browser.navigations.at(-1)!);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('client_id')).toBe(harness.op.clientId);
    expect(url.pathname).toBe('/authorize');
    const parRequest = harness.op.requestsTo(PAR_PATH)[0];
    expect(parRequest.method).toBe('POST');
    const form = effectiveParams(url, pushed);
    for (const name of ['redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'acr_values']) {
      expect(form.get(name)).withContext(name).toBeTruthy();
    }
    expect(form.get('client_id')).toBe(harness.op.clientId);

    // The response is checked as any other: the pushed state and nonce are the attempt's.
    harness.op.nonce = form.get('nonce')!;
    const callback = new URL(form.get('redirect_uri')!);
    callback.search = new URLSearchParams({ code: 'good-code', state: form.get('state')!, iss: harness.op.issuer }).toString();
    await harness.load(callback.href);
    expect(harness.auth.state().status).toBe('authenticated');
  });

  it('auto, with an OP that does not offer PAR: the plain request, nothing pushed', async () => {
    const { harness } = await harnessWithPar('auto', { offered: false });
    await harness.load();
    await harness.auth.login();
    const url = new URL(harness.browser.navigations.at(-1)!);
    expect(url.searchParams.get('code_challenge')).toBeTruthy();
    expect(url.searchParams.has('request_uri')).toBeFalse();
    expect(harness.op.requestsTo(PAR_PATH).length).toBe(0);
  });

  it('auto, with an OP that requires PAR: pushes', async () => {
    const { harness } = await harnessWithPar('auto', { required: true });
    await harness.load();
    await harness.auth.login();
    expect(new URL(harness.browser.navigations.at(-1)!).searchParams.has('request_uri')).toBeTrue();
  });

  it('always, with an OP without the endpoint: config_invalid before the browser leaves', async () => {
    const { harness } = await harnessWithPar('always', { offered: false });
    await harness.load();
    await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'pushedAuthorization' } }));
    expect(harness.browser.navigations).toEqual([]);
  });

  it('never: the plain request although the OP offers PAR', async () => {
    const { harness } = await harnessWithPar('never');
    await harness.load();
    await harness.auth.login();
    expect(new URL(harness.browser.navigations.at(-1)!).searchParams.get('state')).toBeTruthy();
    expect(harness.op.requestsTo(PAR_PATH).length).toBe(0);
  });

  it('never, with an OP that requires PAR: config_invalid before the browser leaves', async () => {
    const { harness } = await harnessWithPar('never', { required: true });
    await harness.load();
    await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'pushedAuthorization' } }));
    expect(harness.browser.navigations).toEqual([]);
  });

  const failures: { what: string; reply: FakeReply; code: string; retryable: boolean }[] = [
    { what: 'a 503', reply: { status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'content-type': 'application/json' } }, code: 'network_error', retryable: true },
    { what: 'an unreachable OP', reply: { status: 0 }, code: 'network_error', retryable: true },
    { what: "a proxy's HTML page", reply: { status: 200, body: '<html>Wi-Fi</html>', headers: { 'content-type': 'text/html' } }, code: 'invalid_response', retryable: true },
    { what: 'invalid_request', reply: { status: 400, body: { error: 'invalid_request' }, headers: { 'content-type': 'application/json' } }, code: 'authorization_error', retryable: false },
    { what: 'an unknown error code', reply: { status: 400, body: { error: 'made_up' }, headers: { 'content-type': 'application/json' } }, code: 'authorization_error', retryable: true },
  ];
  for (const { what, reply, code, retryable } of failures) {
    it(`classifies ${what} at the PAR endpoint like a token endpoint failure (${code}, ${retryable ? 'transient' : 'final'})`, async () => {
      const { harness } = await harnessWithPar('auto');
      harness.op.handlers[PAR_PATH] = () => reply;
      await harness.load();
      await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code, retryable }));
      expect(harness.browser.navigations).toEqual([]);
    });
  }

  it('iframe renewal pushes its prompt=none request too', async () => {
    const { harness, pushed } = await harnessWithPar('auto', { config: { renew: { strategy: 'iframe', silentRenewUrl: '/silent-renew.html' }, tabs: 'isolated' } });
    harness.browser.windowRef = window;
    harness.op.issueRefreshToken = false;
    await harness.load(`${location.origin}/`);
    await harness.auth.login();
    const signIn = effectiveParams(new URL(harness.browser.navigations.at(-1)!), pushed);
    harness.op.nonce = signIn.get('nonce')!;
    await harness.load(`${location.origin}/?code=good-code&state=${signIn.get('state')}&iss=${encodeURIComponent(harness.op.issuer)}`);
    expect(harness.auth.state().status).toBe('authenticated');

    const appended = nextIframe();
    const renewed = harness.auth.renew();
    const iframe = new URL((await appended).src);
    expect([...iframe.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const form = effectiveParams(iframe, pushed);
    expect(form.get('prompt')).toBe('none');
    expect(form.get('id_token_hint')).toMatch(/^eyJ/);
    harness.op.nonce = form.get('nonce')!;
    const response = new URL(form.get('redirect_uri')!);
    response.search = new URLSearchParams({ code: 'good-code', state: form.get('state')!, iss: harness.op.issuer }).toString();
    post({ type: SILENT_RENEW_MESSAGE, url: response.href }, { source: (document.querySelector('iframe[title="silent sign-in"]') as HTMLIFrameElement).contentWindow });
    await renewed;
    expect(harness.op.requestsTo(PAR_PATH).length).toBe(2);
  });

  it('refuses reserved names in login({ params }) before anything is done: config_invalid naming the param', async () => {
    const { harness } = await harnessWithPar('auto');
    await harness.load();
    const requestsBefore = harness.op.requests.length;
    for (const name of ['request_uri', 'request', 'dpop_jkt', 'state', 'redirect_uri']) {
      await expectAsync(harness.auth.login({ params: { [name]: 'x' } })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: `params.${name}` } }));
    }
    expect(harness.op.requests.length).toBe(requestsBefore);
    expect(harness.browser.navigations).toEqual([]);
  });
});
