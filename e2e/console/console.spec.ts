/**
 * The console in a real browser: `burrow console` backed by a real `burrow server`, both on
 * loopback, driven through the page by role and accessible name like a user would.
 * Screenshots go to e2e/screenshots/ (run artifacts, not committed).
 */
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/burrow.js');
const SHOTS = join(ROOT, 'e2e/screenshots');
const TOKEN = 'e2e-console-token-0123456789';

let dir: string;
let echo: Server;
let server: ChildProcess;
let consoleProc: ChildProcess;
let consoleUrl: URL;
let publicPort: number;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => (c.destroy(), r(true)));
    c.on('error', () => r(false));
  });
}

/** Sends `bytes` through the public port and waits for the echo to come back in full. */
function pushThrough(port: number, bytes: number): Promise<number> {
  return new Promise((r, reject) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let got = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got >= bytes) (c.end(), r(got));
    });
    c.on('error', reject);
    c.write(Buffer.alloc(bytes, 7));
  });
}

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-e2e-console-'));
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const controlPort = await freePort();
  publicPort = await freePort();
  await writeFile(join(dir, 'server.yaml'), `listen: 127.0.0.1:${controlPort}\ntoken: ${TOKEN}\ntls: false\nproxyBind: 127.0.0.1\nstateDir: ${dir}/server-state\n`);
  server = spawn(process.execPath, [BIN, 'server', '--config', join(dir, 'server.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await expect.poll(() => canConnect(controlPort), { timeout: 15_000 }).toBe(true);
  await writeFile(join(dir, 'client.yaml'), `# written by the e2e test\nserver: 127.0.0.1:${controlPort}\ntoken: ${TOKEN}\ntls: false\nadmin: false\nstateDir: ${dir}/client-state\ntunnels: []\n`);
  consoleProc = spawn(process.execPath, [BIN, 'console', '--config', join(dir, 'client.yaml'), '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: consoleProc.stdout! });
  for await (const line of lines) {
    const m = JSON.parse(line) as { event?: string; url?: string };
    if (m.event === 'ready') {
      consoleUrl = new URL(m.url!);
      break;
    }
  }
});

test.afterAll(async () => {
  consoleProc?.kill('SIGTERM');
  server?.kill('SIGTERM');
  echo?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the console is refused without the access token', async ({ page }) => {
  const bare = `http://${consoleUrl.host}/`;
  const res = await page.goto(bare);
  expect(res?.status()).toBe(403);
  await expect(page.getByText(/access token/)).toBeVisible();
  const wrong = await page.goto(`${bare}?token=not-the-token`);
  expect(wrong?.status()).toBe(403);
});

test('add a tcp tunnel, see it online, push data, toggle it off', async ({ page }) => {
  await page.goto(consoleUrl.href);
  await expect(page.getByLabel('server connection')).toContainText('Online');
  await page.getByRole('button', { name: 'Add tunnel' }).click();
  const form = page.getByRole('form', { name: 'Add tunnel' });
  await form.getByLabel('Name').fill('web');
  await form.getByLabel('Local service').fill(`127.0.0.1:${(echo.address() as AddressInfo).port}`);
  await form.getByLabel(/Public port/).fill(String(publicPort));
  await form.getByRole('button', { name: 'Save tunnel' }).click();

  const row = page.getByRole('listitem', { name: 'tunnel web' });
  await expect(row.getByLabel('web state')).toHaveText('Online');
  await expect(row.getByLabel('web public address')).toHaveText(`127.0.0.1:${publicPort}`);
  await page.screenshot({ path: join(SHOTS, 'tunnels-online-1280x800.png') });

  // 3 × 1 MB echoed through the public port: the live rate moves while it flows, the counters after.
  const pushing = (async () => {
    for (let i = 0; i < 3; i++) {
      expect(await pushThrough(publicPort, 1_000_000)).toBe(1_000_000);
      await new Promise((r) => setTimeout(r, 700));
    }
  })();
  await expect(row.getByLabel('web traffic')).toContainText(/^in [1-9][\d.]* [KM]B\/s · out [1-9]/);
  await expect(page.getByText(/^Total: in [1-9]/)).toBeVisible();
  await pushing;
  // in and out, as seen from this machine: 3 MB from the remote side, 3 MB echoed back
  await expect(row.getByLabel('web traffic')).toContainText('3 total · 6000000 bytes');
  await page.screenshot({ path: join(SHOTS, 'traffic-1280x800.png'), fullPage: true });

  await row.getByRole('switch', { name: 'web on' }).click();
  await expect(row.getByRole('switch', { name: 'web on' })).toHaveAttribute('aria-checked', 'false');
  await expect(row.getByLabel('web state')).toHaveText('Off');
  await expect.poll(() => canConnect(publicPort), { timeout: 10_000 }).toBe(false);

  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'tunnel-off-800x600.png') });
  await row.getByRole('switch', { name: 'web on' }).click();
  await expect(row.getByLabel('web state')).toHaveText('Online');
  await expect.poll(() => canConnect(publicPort), { timeout: 10_000 }).toBe(true);
  // The theme follows the system: the same page with a dark preference.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.reload();
  await expect(row.getByLabel('web state')).toHaveText('Online');
  // after a reload the chart still shows the traffic of the last minutes (the host's history)
  await expect(page.getByLabel('peak traffic')).toContainText(/in [1-9][\d.]* [KM]B\/s, out [1-9]/);
  await page.screenshot({ path: join(SHOTS, 'dark-800x600.png') });
});

test('the form says what is wrong in words before anything is saved', async ({ page }) => {
  await page.goto(consoleUrl.href);
  const add = async (name: string, port: string) => {
    await page.getByRole('button', { name: 'Add tunnel' }).click();
    const form = page.getByRole('form', { name: 'Add tunnel' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Local service').fill('127.0.0.1:8080');
    await form.getByLabel(/Public port/).fill(port);
    await form.getByRole('button', { name: 'Save tunnel' }).click();
    return form;
  };
  await add('dup', '0');
  await expect(page.getByRole('listitem', { name: 'tunnel dup' })).toBeVisible();
  const form = await add('dup', '0');
  await expect(form.getByRole('alert')).toContainText('duplicate tunnel name "dup"');
  await form.getByLabel(/Public port/).fill('70000');
  await form.getByRole('button', { name: 'Save tunnel' }).click();
  await expect(form.getByRole('alert')).toContainText('remotePort');
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: join(SHOTS, 'form-error-800x600.png'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Edit dup' }).click();
  const edit = page.getByRole('form', { name: 'Edit tunnel dup' });
  await expect(edit.getByLabel('Local service')).toHaveValue('127.0.0.1:8080');
  await edit.getByLabel('Local service').fill('127.0.0.1:8081');
  await edit.getByRole('button', { name: 'Save tunnel' }).click();
  await expect(page.getByRole('listitem', { name: 'tunnel dup' })).toContainText('→ 127.0.0.1:8081');
  await page.getByRole('button', { name: 'Delete dup' }).click();
  await expect(page.getByRole('listitem', { name: 'tunnel dup' })).toHaveCount(0);
});
