import { Session, parseStoredSession, serializeSession, supersedes, userClaimsOf } from './session';

const session: Session = {
  accessToken: 'at',
  tokenType: 'bearer',
  expiresAt: 2_000_000_000_000,
  refreshToken: 'rt',
  idToken: 'x.y.z',
  idTokenClaims: { iss: 'https://op', sub: 'alice', aud: 'spa', exp: 2_000_000_000, iat: 1_900_000_000, nonce: 'n', name: 'Alice' },
  receivedAt: 1_900_000_000_000,
  epoch: 1,
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

describe('sessions stored by version 0.1 (no position)', () => {
  const legacy = (receivedAt: number) => {
    // Stored without epoch, chain and version, as 0.1 wrote it.
    const stored = Object.fromEntries(Object.entries({ ...session, receivedAt }).filter(([key]) => !['epoch', 'chain', 'version'].includes(key)));
    return JSON.stringify({ format: 1, owner: 'spa@https://op', session: stored });
  };

  it('all belong to one chain, ordered by receipt time as 0.1 ordered them', () => {
    const earlier = parseStoredSession(legacy(1_000), 'spa@https://op')!;
    const later = parseStoredSession(legacy(2_000), 'spa@https://op')!;
    expect(earlier.chain).toBe(later.chain);
    expect(supersedes(later, earlier)).toBeTrue();
    expect(supersedes(earlier, later)).toBeFalse();
    expect(supersedes({ epoch: 1, chain: 'a-new-sign-in', version: 0 }, later)).toBeTrue();
  });
});
