import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { bindPageToHash, hashOf, pageFromHash, PAGES } from './route.js';
import type { Page } from './store.js';

describe('pages by address hash', () => {
  it('reads every page from its hash, and the hash from the page', () => {
    expect(pageFromHash('#nat')).toBe('nat');
    expect(pageFromHash('#/logs')).toBe('logs');
    for (const p of PAGES) expect(pageFromHash(hashOf(p))).toBe(p);
  });

  it('gives no page for an empty or unknown hash', () => {
    for (const h of ['', '#', '#nope', '#constructor', '#%E0%A4%A']) expect(pageFromHash(h), h).toBeUndefined();
  });
});

describe('bindPageToHash', () => {
  const fakeWindow = (hash: string) => {
    const listeners: Array<() => void> = [];
    return {
      location: { hash },
      addEventListener: (_type: 'hashchange', l: () => void) => void listeners.push(l),
      /** What the browser does when the address's hash changes (tray link, back button). */
      navigate(next: string) {
        this.location.hash = next;
        for (const l of listeners) l();
      },
    };
  };

  it('opens the page the address names, follows later hash changes and writes page changes to the hash', () => {
    const store = createStore<{ page: Page }>(() => ({ page: 'tunnels' }));
    const w = fakeWindow('#nat');
    bindPageToHash(store, w);
    expect(store.getState().page).toBe('nat');
    w.navigate('#logs');
    expect(store.getState().page).toBe('logs');
    w.navigate('#unknown');
    expect(store.getState().page).toBe('logs');
    store.setState({ page: 'settings' });
    expect(w.location.hash).toBe('#settings');
  });

  it('keeps the default page for an address without a hash', () => {
    const store = createStore<{ page: Page }>(() => ({ page: 'tunnels' }));
    const w = fakeWindow('');
    bindPageToHash(store, w);
    expect(store.getState().page).toBe('tunnels');
    expect(w.location.hash).toBe('');
  });
});
