/**
 * First start: `burrow console` with no config file (the XDG default path, no --config) shows the
 * empty state; "Try it locally" starts a server inside the console and a demo tunnel with moving
 * traffic; "Connect to my server" writes the config file.
 */
import { expect, test } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOTS, startConsole } from './helpers.js';

let dir: string;
let proc: ChildProcess;
let url: URL;

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-e2e-first-'));
  ({ proc, url } = await startConsole([], { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state') }));
});

test.afterAll(async () => {
  proc?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

test('"Try it locally" from an empty config shows a working tunnel with moving traffic', async ({ page }) => {
  await page.goto(url.href);
  await expect(page.getByRole('heading', { name: 'Welcome to Burrow' })).toBeVisible();
  await expect(page.getByLabel('config file')).toHaveText(join(dir, 'config/burrow/client.yaml'));
  await page.screenshot({ path: join(SHOTS, 'welcome-1280x800.png') });
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'welcome-800x600.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByRole('button', { name: 'Try it locally' }).click();
  const row = page.getByRole('listitem', { name: 'tunnel demo-web' });
  await expect(row.getByLabel('demo-web state')).toHaveText('Online');
  await expect(page.getByLabel('server connection')).toContainText('Local test server: Online');
  // the console visits the demo page through the tunnel once a second
  await expect(row.getByLabel('demo-web traffic')).toContainText(/^in [1-9][\d.]* [KM]?B\/s · out [1-9]/);
  const link = page.getByRole('link', { name: /^http:\/\/127\.0\.0\.1:\d+\/$/ });
  await expect(link).toBeVisible();
  const res = await page.request.get((await link.getAttribute('href'))!);
  expect(await res.text()).toContain('Hello from behind the NAT!');
  await page.screenshot({ path: join(SHOTS, 'try-locally-1280x800.png') });
  await page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Traffic' }).click();
  await expect(page.getByLabel('peak traffic')).toContainText(/out [1-9]/);
  await page.screenshot({ path: join(SHOTS, 'try-locally-traffic-1280x800.png'), fullPage: true });
  // the demo runs its own STUN service: the NAT check works out of the box
  await page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'NAT check' }).click();
  await expect(page.getByLabel('STUN server')).toHaveValue(/^127\.0\.0\.1:\d+$/);

  await page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Settings' }).click();
  await page.screenshot({ path: join(SHOTS, 'settings-demo-800x600.png') });
  // the user's config file is not touched by the demo
  await expect(readFile(join(dir, 'config/burrow/client.yaml'), 'utf8')).rejects.toThrow();
});

test('"Connect to my server" writes the XDG config file', async ({ page }) => {
  await page.goto(url.href);
  await page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Connect to my server' }).click();
  const form = page.getByRole('form', { name: 'Change server' });
  await form.getByLabel('Server address').fill('127.0.0.1:9');
  await form.getByLabel('Token').fill('my-server-token-123');
  await form.getByRole('button', { name: 'Save and connect' }).click();
  await expect(page.getByLabel('server connection')).toContainText('127.0.0.1:9: ');
  await expect(page.getByLabel('server connection')).not.toContainText('Online');
  const text = await readFile(join(dir, 'config/burrow/client.yaml'), 'utf8');
  expect(text).toContain('server: 127.0.0.1:9');
  expect(text).toContain('token: my-server-token-123');
  expect(await page.content()).not.toContain('my-server-token-123');
});
