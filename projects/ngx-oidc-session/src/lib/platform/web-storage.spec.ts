import { MemoryTokenStorage, WebTokenStorage, createTokenStorage } from './web-storage';

class ThrowingStorage implements Partial<Storage> {
  getItem(): string | null {
    throw new DOMException('denied', 'SecurityError');
  }
  setItem(): void {
    throw new DOMException('full', 'QuotaExceededError');
  }
  removeItem(): void {
    throw new DOMException('denied', 'SecurityError');
  }
}

describe('token storage', () => {
  it('memory storage keeps values per instance', () => {
    const storage = new MemoryTokenStorage();
    storage.setItem('k', 'v');
    expect(storage.getItem('k')).toBe('v');
    storage.removeItem('k');
    expect(storage.getItem('k')).toBeNull();
    expect(new MemoryTokenStorage().getItem('k')).toBeNull();
  });

  it('falls back to memory when the browser storage throws', () => {
    const storage = new WebTokenStorage(new ThrowingStorage() as unknown as Storage);
    storage.setItem('k', 'v');
    expect(storage.getItem('k')).toBe('v');
    storage.removeItem('k');
    expect(storage.getItem('k')).toBeNull();
  });

  it('after a refused write, the value in memory outranks the older one in the area', () => {
    const key = `ngx-oidc-session-spec-${Math.random()}`;
    const storage = new WebTokenStorage(window.localStorage);
    storage.setItem(key, 'older');
    expect(storage.refusal).toBeNull();
    const full = spyOn(Storage.prototype, 'setItem').and.throwError(new DOMException('full', 'QuotaExceededError'));
    storage.setItem(key, 'newer');
    full.and.callThrough();
    expect(storage.getItem(key)).toBe('newer');
    expect((storage.refusal as DOMException).name).toBe('QuotaExceededError');
    expect(window.localStorage.getItem(key)).toBeNull();
    storage.removeItem(key);
  });

  it('uses the chosen Web Storage area', () => {
    const key = `ngx-oidc-session-spec-${Math.random()}`;
    createTokenStorage('local', window).setItem(key, 'v');
    expect(window.localStorage.getItem(key)).toBe('v');
    window.localStorage.removeItem(key);
    createTokenStorage('session', window).setItem(key, 'w');
    expect(window.sessionStorage.getItem(key)).toBe('w');
    window.sessionStorage.removeItem(key);
  });

  it('uses memory on the server and an app-provided storage as is', () => {
    expect(createTokenStorage('session', null)).toBeInstanceOf(MemoryTokenStorage);
    const own = new MemoryTokenStorage();
    expect(createTokenStorage(own, window)).toBe(own);
  });
});
