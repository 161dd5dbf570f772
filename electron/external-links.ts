/**
 * Which links the app may open in the user's browser (a page's `target="_blank"` link or
 * window.open; the window itself never navigates). Two sources:
 * - the allow-list: `externalLinks` in desktop-settings.json, https URL prefixes, each ending in "/"
 *   so that "https://example.org/burrow/" does not also let "https://example.org/burrow-evil" in.
 *   Default: empty. The README names no documentation site for the project, so no site is trusted
 *   out of the box; a user or packager who wants the app's links to reach one lists it there.
 * - the demo page of "Try it locally" while it runs: exactly its origin (http on loopback).
 * Everything else, and every URL with credentials or another scheme, is refused.
 */

/** The default allow-list (no external site; see above). */
export const DEFAULT_EXTERNAL_LINKS: readonly string[] = [];

export interface LinkPolicy {
  isAllowed(url: string): boolean;
  /** The running demo page's address (from the `mode` event), or undefined when there is none. */
  setDemoPage(url: string | undefined): void;
  /** The usable prefixes, after checking. */
  readonly prefixes: readonly string[];
}

/** Why an allow-list entry cannot be used, or undefined when it can. */
export function checkPrefix(entry: string): string | undefined {
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:') return 'only https links can be allowed';
  if (u.username !== '' || u.password !== '') return 'a link with a user name or password cannot be allowed';
  if (u.search !== '' || u.hash !== '') return 'a prefix has no ?query or #fragment';
  if (!u.pathname.endsWith('/')) return 'a prefix must end with "/" (e.g. https://example.org/docs/)';
  return undefined;
}

export function createLinkPolicy(entries: readonly string[], warn: (entry: string, reason: string) => void = () => {}): LinkPolicy {
  const prefixes: string[] = [];
  for (const entry of entries) {
    const why = checkPrefix(entry);
    if (why === undefined) prefixes.push(new URL(entry).href);
    else warn(entry, why);
  }
  let demoOrigin: string | undefined;
  return {
    prefixes,
    setDemoPage(url) {
      demoOrigin = undefined;
      if (url === undefined) return;
      try {
        const u = new URL(url);
        if (u.protocol === 'http:' && isLoopback(u.hostname)) demoOrigin = u.origin;
      } catch {
        // not a URL: nothing to allow
      }
    },
    isAllowed(url) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return false;
      }
      if (u.username !== '' || u.password !== '') return false;
      if (demoOrigin !== undefined && u.origin === demoOrigin) return true;
      return u.protocol === 'https:' && prefixes.some((prefix) => u.href.startsWith(prefix));
    },
  };
}

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]' || host === 'localhost';
}
