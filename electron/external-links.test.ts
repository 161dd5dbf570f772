import { describe, expect, it } from 'vitest';
import { checkPrefix, createLinkPolicy, DEFAULT_EXTERNAL_LINKS } from './external-links.js';

describe('external links', () => {
  it('opens nothing by default: the README names no documentation site', () => {
    const policy = createLinkPolicy(DEFAULT_EXTERNAL_LINKS);
    for (const url of ['https://github.com/burrow-tunnel/burrow', 'https://example.org/', 'http://127.0.0.1:8080/']) expect(policy.isAllowed(url), url).toBe(false);
  });

  it('opens links under a configured prefix, and refuses look-alikes, other schemes and credentials', () => {
    const policy = createLinkPolicy(['https://docs.example.org/burrow/']);
    expect(policy.isAllowed('https://docs.example.org/burrow/')).toBe(true);
    expect(policy.isAllowed('https://docs.example.org/burrow/desktop.html#tray')).toBe(true);
    for (const url of [
      'https://docs.example.org/burrow-evil/',
      'https://docs.example.org/',
      'http://docs.example.org/burrow/',
      'https://docs.example.org.evil/burrow/',
      'https://x@docs.example.org/burrow/',
      'https://docs.example.org/burrow/../admin/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(policy.isAllowed(url), url).toBe(false);
    }
  });

  it('drops an unusable entry with the reason, keeping the others', () => {
    const problems: string[] = [];
    const policy = createLinkPolicy(['http://docs.example.org/', 'https://docs.example.org/burrow', 'nope', 'https://u:p@x.example/', 'https://ok.example/d/'], (entry, why) => problems.push(`${entry}: ${why}`));
    expect(policy.prefixes).toEqual(['https://ok.example/d/']);
    expect(problems).toEqual([
      'http://docs.example.org/: only https links can be allowed',
      'https://docs.example.org/burrow: a prefix must end with "/" (e.g. https://example.org/docs/)',
      'nope: not a URL',
      'https://u:p@x.example/: a link with a user name or password cannot be allowed',
    ]);
    expect(checkPrefix('https://ok.example/?q=1')).toMatch(/no \?query/);
  });

  it('opens the running demo page (its exact loopback origin) and nothing else on loopback', () => {
    const policy = createLinkPolicy([]);
    policy.setDemoPage('http://127.0.0.1:41234/');
    expect(policy.isAllowed('http://127.0.0.1:41234/')).toBe(true);
    expect(policy.isAllowed('http://127.0.0.1:41235/')).toBe(false);
    expect(policy.isAllowed('http://localhost:41234/')).toBe(false);
    policy.setDemoPage(undefined);
    expect(policy.isAllowed('http://127.0.0.1:41234/')).toBe(false);
    policy.setDemoPage('http://evil.example:80/');
    expect(policy.isAllowed('http://evil.example/')).toBe(false);
  });
});
