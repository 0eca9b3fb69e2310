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
