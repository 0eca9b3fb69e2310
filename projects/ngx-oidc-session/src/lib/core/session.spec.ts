import { Session, parseStoredSession, serializeSession, userClaimsOf } from './session';

const session: Session = {
  accessToken: 'at',
  tokenType: 'bearer',
  expiresAt: 2_000_000_000_000,
  refreshToken: 'rt',
  idToken: 'x.y.z',
  idTokenClaims: { iss: 'https://op', sub: 'alice', aud: 'spa', exp: 2_000_000_000, iat: 1_900_000_000, nonce: 'n', name: 'Alice' },
  receivedAt: 1_900_000_000_000,
  chain: 'c0ffee',
  version: 0,
};

describe('stored session', () => {
  it('round-trips a session for its owner', () => {
    expect(parseStoredSession(serializeSession(session, 'spa@op'), 'spa@op')).toEqual(session);
  });

  it('discards entries of another owner, another format, or corrupt ones', () => {
    expect(parseStoredSession(serializeSession(session, 'spa@op'), 'other@op')).toBeNull();
    expect(parseStoredSession(JSON.stringify({ format: 99, owner: 'spa@op', session }), 'spa@op')).toBeNull();
    expect(parseStoredSession('{not json', 'spa@op')).toBeNull();
    expect(parseStoredSession('null', 'spa@op')).toBeNull();
    expect(parseStoredSession(null, 'spa@op')).toBeNull();
  });

  it('discards entries with missing or mistyped fields', () => {
    const broken: unknown[] = [
      { ...session, accessToken: 42 },
      { ...session, expiresAt: 'soon' },
      { ...session, refreshToken: '' },
      { ...session, idTokenClaims: { ...session.idTokenClaims, sub: undefined } },
      { ...session, idTokenClaims: 'claims' },
      { ...session, userInfo: [] },
    ];
    for (const entry of broken) {
      expect(parseStoredSession(JSON.stringify({ format: 1, owner: 'spa@op', session: entry }), 'spa@op')).toBeNull();
    }
  });

  it('gives the app user claims without protocol claims, userinfo merged, sub fixed', () => {
    const claims = userClaimsOf({ ...session, userInfo: { email: 'a@example.com', sub: 'mallory' } });
    expect(claims).toEqual({ sub: 'alice', name: 'Alice', email: 'a@example.com' });
  });
});
