/**
 * The console in a real browser: `burrow console` backed by a real `burrow server` (TLS, STUN on),
 * both on loopback, driven through the page by role and accessible name like a user would.
 * Screenshots go to e2e/screenshots/ (run artifacts, not committed).
 */
import { expect, test, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { BIN, canConnect, freePort, pushThrough, SHOTS, startConsole } from './helpers.js';

const TOKEN = 'e2e-console-token-0123456789';

let dir: string;
let echo: Server;
let server: ChildProcess;
let consoleProc: ChildProcess;
let consoleUrl: URL;
let publicPort: number;
let controlPort: number;
let stunPort: number;
let visitorPort: number;
const VISITOR_SECRET = 'visitor-secret-canary-1234';

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-e2e-console-'));
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  controlPort = await freePort();
  publicPort = await freePort();
  stunPort = await freePort();
  const stunAlt = await freePort();
  await writeFile(
    join(dir, 'server.yaml'),
    `listen: 127.0.0.1:${controlPort}\ntoken: ${TOKEN}\nproxyBind: 127.0.0.1\nstateDir: ${dir}/server-state\nstun:\n  listen: 127.0.0.1:${stunPort}\n  tlsListen: false\n  alternate: { ip: 127.0.0.2, port: ${stunAlt} }\n`,
  );
  server = spawn(process.execPath, [BIN, 'server', '--config', join(dir, 'server.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await expect.poll(() => canConnect(controlPort), { timeout: 15_000 }).toBe(true);
  visitorPort = await freePort();
  await writeFile(
    join(dir, 'client.yaml'),
    `# written by the e2e test\nserver: 127.0.0.1:${controlPort}\ntoken: ${TOKEN}\nadmin: false\nstateDir: ${dir}/client-state\ntunnels: []\n` +
      `visitors:\n  - name: vault-visitor\n    tunnel: vault\n    secret: ${VISITOR_SECRET}\n    bind: 127.0.0.1:${visitorPort}\n`,
  );
  ({ proc: consoleProc, url: consoleUrl } = await startConsole(['--config', join(dir, 'client.yaml')]));
});

test.afterAll(async () => {
  consoleProc?.kill('SIGTERM');
  server?.kill('SIGTERM');
  echo?.close();
  await rm(dir, { recursive: true, force: true });
});

const go = (page: Page, name: string) => page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name }).click();

async function addTunnel(page: Page, name: string, local: string, port: string, opts: { anyway?: boolean; bandwidth?: string } = {}) {
  await page.getByRole('button', { name: 'Add tunnel' }).click();
  const form = page.getByRole('form', { name: 'Add tunnel' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Local service').fill(local);
  await form.getByLabel(/Public port/).fill(port);
  if (opts.bandwidth) await form.getByLabel(/Bandwidth limit/).fill(opts.bandwidth);
  await form.getByRole('button', { name: 'Save tunnel' }).click();
  if (opts.anyway) {
    await expect(form.getByRole('alert')).toContainText(`Nothing answers at ${local}: connection refused`);
    await form.getByRole('button', { name: 'Save anyway' }).click();
  }
  return form;
}

test('the console is refused without the access token', async ({ page }) => {
  const bare = `http://${consoleUrl.host}/`;
  const res = await page.goto(bare);
  expect(res?.status()).toBe(403);
  await expect(page.getByText(/access token/)).toBeVisible();
  const wrong = await page.goto(`${bare}?token=not-the-token`);
  expect(wrong?.status()).toBe(403);
});

test('add a tcp tunnel, see it online, push data, watch the chart, toggle it off', async ({ page }) => {
  await page.goto(consoleUrl.href);
  await expect(page.getByLabel('server connection')).toContainText('Online');
  await addTunnel(page, 'web', `127.0.0.1:${(echo.address() as AddressInfo).port}`, String(publicPort));

  const row = page.getByRole('listitem', { name: 'tunnel web' });
  await expect(row.getByLabel('web state')).toHaveText('Online');
  await expect(row.getByLabel('web public address')).toHaveText(`127.0.0.1:${publicPort}`);
  await expect(row.getByLabel('web path')).toHaveText('path: relay');

  // 3 × 1 MB echoed through the public port: the live rate moves while it flows, the counters after.
  const pushing = (async () => {
    for (let i = 0; i < 3; i++) {
      expect(await pushThrough(publicPort, 1_000_000)).toBe(1_000_000);
      await new Promise((r) => setTimeout(r, 700));
    }
  })();
  await expect(row.getByLabel('web traffic')).toContainText(/^in [1-9][\d.]* [KM]B\/s · out [1-9]/);
  await page.screenshot({ path: join(SHOTS, 'tunnels-online-1280x800.png') });
  await pushing;
  // in and out, as seen from this machine: 3 MB from the remote side, 3 MB echoed back
  await expect(row.getByLabel('web traffic')).toContainText('3 total · 6000000 bytes');

  await go(page, 'Traffic');
  await expect(page.getByText(/^Total: in/)).toBeVisible();
  await expect(page.getByLabel('peak traffic')).toContainText(/in [1-9][\d.]* [KM]B\/s, out [1-9]/);
  await expect(page.getByRole('img', { name: /traffic chart of web/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /active connections chart/ })).toBeVisible();
  await page.screenshot({ path: join(SHOTS, 'traffic-1280x800.png'), fullPage: true });
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'traffic-800x600.png'), fullPage: true });

  await go(page, 'Tunnels');
  await row.getByRole('switch', { name: 'web on' }).click();
  await expect(row.getByRole('switch', { name: 'web on' })).toHaveAttribute('aria-checked', 'false');
  await expect(row.getByLabel('web state')).toHaveText('Off');
  await expect.poll(() => canConnect(publicPort), { timeout: 10_000 }).toBe(false);
  await page.screenshot({ path: join(SHOTS, 'tunnel-off-800x600.png') });
  await row.getByRole('switch', { name: 'web on' }).click();
  await expect(row.getByLabel('web state')).toHaveText('Online');
  await expect.poll(() => canConnect(publicPort), { timeout: 10_000 }).toBe(true);
  // The theme follows the system: the same page with a dark preference.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.reload();
  await expect(row.getByLabel('web state')).toHaveText('Online');
  await page.screenshot({ path: join(SHOTS, 'tunnels-dark-800x600.png') });
  // after a reload the chart still shows the traffic of the last minutes (the host's history)
  await go(page, 'Traffic');
  await expect(page.getByLabel('peak traffic')).toContainText(/in [1-9][\d.]* [KM]B\/s, out [1-9]/);
  await page.screenshot({ path: join(SHOTS, 'traffic-dark-800x600.png'), fullPage: true });
});

test('visitors are listed with state, bind address and path; a hand edit of the file shows up live', async ({ page }) => {
  await page.goto(consoleUrl.href);
  const visitor = page.getByRole('listitem', { name: 'visitor vault-visitor' });
  await expect(visitor.getByLabel('vault-visitor state')).toHaveText(/Online|Connecting|Error/);
  await expect(visitor.getByLabel('vault-visitor bind address')).toHaveText(`127.0.0.1:${visitorPort}`);
  await expect(visitor.getByLabel('vault-visitor path')).toHaveText(/^path: (relay|direct|—)$/);
  expect(await page.content()).not.toContain(VISITOR_SECRET);

  const file = join(dir, 'client.yaml');
  const before = await readFile(file, 'utf8');
  const doc = parseDocument(before);
  doc.addIn(['tunnels'], { name: 'by-hand', type: 'tcp', local: `127.0.0.1:${(echo.address() as AddressInfo).port}`, remotePort: 0 });
  await writeFile(file, doc.toString()); // as an editor would: the console did not write this
  await expect(page.getByRole('listitem', { name: 'tunnel by-hand' }).getByLabel('by-hand state')).toHaveText('Online');
  await page.screenshot({ path: join(SHOTS, 'tunnels-visitor-1280x800.png') });
  await page.getByRole('button', { name: 'Delete by-hand' }).click();
  await expect(page.getByRole('listitem', { name: 'tunnel by-hand' })).toHaveCount(0);

  // the visitor's switch: off closes its local port (and says so in the file), on opens it again
  expect(await canConnect(visitorPort)).toBe(true);
  await visitor.getByRole('switch', { name: 'vault-visitor on' }).click();
  await expect(visitor.getByRole('switch', { name: 'vault-visitor on' })).toHaveAttribute('aria-checked', 'false');
  await expect(visitor.getByLabel('vault-visitor state')).toHaveText('Off');
  await expect.poll(() => canConnect(visitorPort), { timeout: 10_000 }).toBe(false);
  expect(await readFile(file, 'utf8')).toMatch(/^ {4}enabled: false$/m);
  await page.screenshot({ path: join(SHOTS, 'visitor-off-1280x800.png') });
  await visitor.getByRole('switch', { name: 'vault-visitor on' }).click();
  await expect(visitor.getByRole('switch', { name: 'vault-visitor on' })).toHaveAttribute('aria-checked', 'true');
  await expect.poll(() => canConnect(visitorPort), { timeout: 10_000 }).toBe(true);
});

test('the address hash chooses the page: /#nat opens the NAT check, hash changes and the buttons follow', async ({ page }) => {
  // what the desktop tray's "Run NAT diagnosis" does: open the app at #nat
  await page.goto(`${consoleUrl.href}#nat`);
  await expect(page.getByRole('form', { name: 'NAT check' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'NAT check' })).toHaveAttribute('aria-current', 'page');
  await page.screenshot({ path: join(SHOTS, 'nat-by-hash-1280x800.png') });
  await page.evaluate("location.hash = '#logs'"); // as a link or the tray would
  await expect(page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Logs' })).toHaveAttribute('aria-current', 'page');
  await go(page, 'Settings');
  await expect.poll(() => new URL(page.url()).hash).toBe('#settings');
  await page.goBack();
  await expect(page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Logs' })).toHaveAttribute('aria-current', 'page');
  await page.reload();
  await expect(page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Logs' })).toHaveAttribute('aria-current', 'page');
});

test('keyboard only: reach the pages and the form with Tab and Enter', async ({ page }) => {
  await page.goto(consoleUrl.href);
  await expect(page.getByLabel('server connection')).toContainText('Online');
  const logs = page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Logs' });
  for (let i = 0; i < 10 && !(await logs.evaluate((el) => el.matches(":focus"))); i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(logs).toHaveAttribute('aria-current', 'page');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Enter');
  const tunnels = page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Tunnels' });
  await expect(tunnels).toHaveAttribute('aria-current', 'page');
  const add = page.getByRole('button', { name: 'Add tunnel' });
  for (let i = 0; i < 10 && !(await add.evaluate((el) => el.matches(":focus"))); i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  const form = page.getByRole('form', { name: 'Add tunnel' });
  await page.keyboard.press('Tab');
  await expect(form.getByLabel('Name')).toBeFocused();
  await page.screenshot({ path: join(SHOTS, 'keyboard-focus-1280x800.png') });
  await form.getByRole('button', { name: 'Cancel' }).focus();
  await page.keyboard.press('Enter');
  await expect(form).toHaveCount(0);
});

test('the form says what is wrong in words, warns about a dead service, keeps "10MB" as typed', async ({ page }) => {
  await page.goto(consoleUrl.href);
  const dead = `127.0.0.1:${await freePort()}`;
  await addTunnel(page, 'dup', dead, '0', { anyway: true, bandwidth: '10MB' });
  await expect(page.getByRole('listitem', { name: 'tunnel dup' })).toBeVisible();
  expect(await readFile(join(dir, 'client.yaml'), 'utf8')).toMatch(/bandwidth: 10MB/);
  const form = await addTunnel(page, 'dup', dead, '0', { anyway: true });
  await expect(form.getByRole('alert')).toContainText('duplicate tunnel name "dup"');
  await form.getByLabel(/Public port/).fill('70000');
  await form.getByRole('button', { name: 'Save tunnel' }).click();
  await expect(form.getByRole('alert')).toContainText('remotePort');
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'form-error-800x600.png'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('button', { name: 'Edit dup' }).click();
  const edit = page.getByRole('form', { name: 'Edit tunnel dup' });
  await expect(edit.getByLabel('Local service')).toHaveValue(dead);
  await expect(edit.getByLabel(/Bandwidth limit/)).toHaveValue('10MB');
  await edit.getByLabel('Local service').fill(`127.0.0.1:${(echo.address() as AddressInfo).port}`);
  await edit.getByRole('button', { name: 'Save tunnel' }).click();
  await expect(page.getByRole('listitem', { name: 'tunnel dup' })).toContainText(`→ 127.0.0.1:${(echo.address() as AddressInfo).port}`);
  expect(await readFile(join(dir, 'client.yaml'), 'utf8')).toMatch(/bandwidth: 10MB/);

  // the p2p type asks for a secret and a protocol, not a public port
  await page.getByRole('button', { name: 'Add tunnel' }).click();
  const p2p = page.getByRole('form', { name: 'Add tunnel' });
  await p2p.getByLabel('Type').selectOption('p2p');
  await expect(p2p.getByLabel(/Public port/)).toHaveCount(0);
  await p2p.getByLabel('Name').fill('game');
  await p2p.getByLabel('Local service').fill(`127.0.0.1:${(echo.address() as AddressInfo).port}`);
  await p2p.getByLabel('Secret', { exact: true }).fill('p2p-secret-canary-42');
  await p2p.getByLabel('Protocol').selectOption('udp');
  await p2p.getByRole('button', { name: 'Save tunnel' }).click();
  await expect(page.getByRole('listitem', { name: 'tunnel game' })).toContainText('p2p');
  expect(await readFile(join(dir, 'client.yaml'), 'utf8')).toMatch(/protocol: udp/);
  await page.screenshot({ path: join(SHOTS, 'tunnels-p2p-800x600.png'), fullPage: true });
  expect(await page.content()).not.toContain('p2p-secret-canary-42');

  for (const name of ['dup', 'game']) {
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    await expect(page.getByRole('listitem', { name: `tunnel ${name}` })).toHaveCount(0);
  }
});

test('a stopped local service is reported in words; logs show it, masked', async ({ page }) => {
  const flaky = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  const port = (flaky.address() as AddressInfo).port;
  await page.goto(consoleUrl.href);
  await addTunnel(page, 'flaky', `127.0.0.1:${port}`, '0');
  const row = page.getByRole('listitem', { name: 'tunnel flaky' });
  await expect(row.getByLabel('flaky state')).toHaveText('Online');
  await new Promise<void>((r) => flaky.close(() => r()));
  await expect(row.getByLabel('flaky local service')).toContainText(`The local service at 127.0.0.1:${port} does not answer (connection refused`);
  // a user connecting now gets a reset, and the engine logs why
  const publicAddress = (await row.getByLabel('flaky public address').textContent())!;
  await pushThrough(Number(publicAddress.split(':')[1]), 10).catch(() => undefined);
  await page.screenshot({ path: join(SHOTS, 'local-down-1280x800.png') });

  await go(page, 'Logs');
  const lines = page.getByLabel('log lines');
  await expect(lines).toContainText('local service unreachable');
  await page.getByLabel('Tunnel').selectOption('flaky');
  await expect(lines).toContainText('tunnel=flaky');
  await expect(lines).not.toContainText('configuration reloaded');
  await page.getByLabel('Level').selectOption('warn');
  await expect(lines).not.toContainText('tunnel added');
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByRole('button', { name: 'Resume' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByLabel('Tunnel').selectOption('');
  await page.getByLabel('Level').selectOption('info');
  await page.screenshot({ path: join(SHOTS, 'logs-1280x800.png') });
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'logs-800x600.png') });
  expect(await page.content()).not.toContain(TOKEN);
  await go(page, 'Tunnels');
  await page.getByRole('button', { name: 'Delete flaky' }).click();
});

test('settings: token masked until asked, the certificate fingerprint, a wrong token in words', async ({ page }) => {
  await page.goto(consoleUrl.href);
  await go(page, 'Settings');
  await expect(page.getByLabel('server address')).toContainText(`127.0.0.1:${controlPort} (TLS)`);
  await expect(page.getByLabel('server certificate fingerprint')).toContainText(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  await expect(page.getByLabel('token', { exact: true })).not.toContainText(TOKEN);
  expect(await page.content()).not.toContain(TOKEN);
  await page.screenshot({ path: join(SHOTS, 'settings-1280x800.png') });
  await page.getByRole('button', { name: 'Show token' }).click();
  await expect(page.getByLabel('token', { exact: true })).toHaveText(TOKEN);
  await page.getByRole('button', { name: 'Hide token' }).click();
  await expect(page.getByLabel('token', { exact: true })).not.toContainText(TOKEN);

  const change = async (token: string) => {
    await page.getByRole('button', { name: 'Change server or token' }).click();
    const form = page.getByRole('form', { name: 'Change server' });
    await form.getByLabel('Server address').fill(`127.0.0.1:${controlPort}`);
    await form.getByLabel('Token').fill(token);
    await form.getByRole('button', { name: 'Save and connect' }).click();
  };
  await change('this-is-the-wrong-token');
  await expect(page.getByLabel('server connection')).toContainText(/authentication failed/);
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'wrong-token-800x600.png') });
  await change(TOKEN);
  await expect(page.getByLabel('server connection')).toContainText('Online');
  expect(await readFile(join(dir, 'client.yaml'), 'utf8')).toContain('# written by the e2e test');
});

test("the NAT wizard against Burrow's own STUN server ends with a verdict in words", async ({ page }) => {
  await page.goto(consoleUrl.href);
  await go(page, 'NAT check');
  const form = page.getByRole('form', { name: 'NAT check' });
  await expect(form.getByLabel('STUN server')).toHaveValue('127.0.0.1:3478'); // the configured server's host
  await form.getByLabel('STUN server').fill(`127.0.0.1:${stunPort}`);
  await form.getByRole('button', { name: 'Run the NAT check' }).click();
  const verdict = page.getByRole('article', { name: 'NAT verdict' });
  await expect(verdict.getByRole('heading', { level: 3 })).toHaveText(/^No NAT/);
  await expect(page.getByRole('listitem', { name: /Address seen from outside/ })).toContainText(/seen from outside as 127\.0\.0\.1:\d+/);
  await expect(page.getByRole('listitem', { name: /^Mapping/ })).toContainText('endpoint-independent');
  await expect(page.getByRole('listitem', { name: /^Binding lifetime/ })).toContainText('skipped');
  await expect(verdict.getByLabel('mapping')).toContainText('same public address for every destination');
  await expect(verdict.getByLabel('filtering')).toBeVisible();
  await expect(verdict.getByRole('table')).toContainText('a peer behind a hard (symmetric) NAT');
  await expect(verdict).toContainText('Classic name (RFC 3489): open internet');
  await page.screenshot({ path: join(SHOTS, 'nat-verdict-1280x800.png'), fullPage: true });
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'nat-verdict-800x600.png'), fullPage: true });
  const download = page.waitForEvent('download');
  await verdict.getByRole('button', { name: 'Save report as JSON' }).click();
  const report = JSON.parse(await readFile((await (await download).path())!, 'utf8')) as { mapping: string; peers: unknown[] };
  expect(report.mapping).toBe('endpoint-independent');
  expect(report.peers).toHaveLength(5);

  // a server that never answers: "no reply", never a zero
  await form.getByLabel('STUN server').fill(`127.0.0.1:${await freePort()}`);
  await form.getByRole('button', { name: 'Run the NAT check' }).click();
  await expect(page.getByRole('listitem', { name: /Address seen from outside/ })).toContainText('no reply', { timeout: 20_000 });
  await expect(page.getByRole('alert')).toContainText('no reply from the STUN server');
  await page.screenshot({ path: join(SHOTS, 'nat-no-reply-800x600.png'), fullPage: true });
});
