/**
 * Pages by address hash: `#tunnels`, `#traffic`, `#nat`, `#logs`, `#settings`. The desktop tray's
 * "Run NAT diagnosis" opens the window at `#nat`; a bookmark or a reload keeps the page. Pure:
 * the hash in, the page out (main.tsx wires it to location and 'hashchange').
 */
import type { Page } from './store.js';

export const PAGES: readonly Page[] = ['tunnels', 'traffic', 'nat', 'logs', 'settings'];

export const DEFAULT_PAGE: Page = 'tunnels';

/** "#nat" → 'nat'; an empty or unknown hash → undefined (the caller keeps its page or the default). */
export function pageFromHash(hash: string): Page | undefined {
  let name: string;
  try {
    name = decodeURIComponent(hash.replace(/^#\/?/, '')).trim().toLowerCase();
  } catch {
    return undefined; // malformed %-escape
  }
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : undefined;
}

export function hashOf(page: Page): string {
  return `#${page}`;
}

/** The parts of `window` the binding uses (a fake in the unit test). */
export interface HashWindow {
  location: { hash: string };
  addEventListener(type: 'hashchange', listener: () => void): void;
}

interface PageStore {
  getState(): { page: Page };
  setState(partial: { page: Page }): void;
  subscribe(listener: (state: { page: Page }) => void): () => void;
}

/**
 * Keeps the store's page and the address hash in step: the hash at start and every later
 * 'hashchange' (the tray's `#nat`, the back button) choose the page; a page chosen in the app
 * (the navigation buttons) is written to the hash.
 */
export function bindPageToHash(store: PageStore, w: HashWindow): void {
  const fromHash = () => {
    const page = pageFromHash(w.location.hash);
    if (page !== undefined && page !== store.getState().page) store.setState({ page });
  };
  fromHash();
  w.addEventListener('hashchange', fromHash);
  store.subscribe(({ page }) => {
    if (pageFromHash(w.location.hash) !== page) w.location.hash = hashOf(page);
  });
}
