// harness.mjs: what the browser tests stand on: a private emulator (free port, fresh state
// dir), Debian's Chromium driven by playwright-core (from frontend/node_modules), guest
// sign-in through the login page, and failure artifacts under test-output/e2e/.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OUTPUT = path.join(ROOT, 'test-output', 'e2e');
const CHROMIUM = process.env.CHATR_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

// playwright-core is installed with the front end's packages (make deps); null when missing.
export function loadPlaywright() {
  try {
    return createRequire(path.join(ROOT, 'frontend', 'package.json'))('playwright-core');
  } catch {
    return null;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A private emulator. start() returns null on success or a reason it could not start.
export class Emulator {
  constructor(port) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.state = fs.mkdtempSync(path.join(os.tmpdir(), 'chatr-e2e-'));
    this.env = {
      ...process.env,
      CHATR_PORT: String(port),
      CHATR_STATE_DIR: this.state,
      CHATR_BIN_DIR: process.env.CHATR_BIN_DIR || path.join(ROOT, 'build', 'asan', 'bin'),
    };
  }

  run(...args) {
    return spawnSync(path.join(ROOT, 'infra', 'emulator'), args, { env: this.env, encoding: 'utf8', timeout: 120000 });
  }

  start() {
    const r = this.run('start');
    this.started = r.status === 0;
    return this.started ? null : `infra/emulator start failed: ${(r.stderr || r.stdout || '').trim().slice(-400)}`;
  }

  stop() {
    if (this.started) this.run('stop');
    this.started = false;
    if (process.env.CHATR_E2E_KEEP_STATE) return;
    fs.rmSync(this.state, { recursive: true, force: true });
  }

  // A call to the hub's REST API, signed with the instance's access key as the service SDKs
  // sign it (an HS256 JWT whose aud is the URL).
  async hubRest(method, pathname, body) {
    const key = fs.readFileSync(path.join(this.state, 'secrets', 'access_key'), 'utf8').trim();
    const url = this.url + pathname;
    const now = Math.floor(Date.now() / 1000);
    const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + 3600, aud: url })}`;
    const sig = crypto.createHmac('sha256', key).update(unsigned).digest('base64url');
    const headers = { authorization: `Bearer ${unsigned}.${sig}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  // The gateway alone (nginx) stops and starts again: every WebSocket drops, state stays.
  // (Mirrors infra/emulator's nginx command; the rendered config is reused as it is.)
  restartGateway() {
    const conf = path.join(this.state, 'nginx', 'nginx.conf');
    const args = ['-p', path.join(this.state, 'nginx'), '-c', conf, '-e', path.join(this.state, 'logs', 'nginx-error.log')];
    const pidFile = path.join(this.state, 'run', 'nginx.pid');
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    const until = Date.now() + 10000;
    while (alive(pid) && Date.now() < until) spawnSync('sleep', ['0.1']);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    return { restart: () => spawnSync('nginx', args, { encoding: 'utf8' }) };
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// What the backend must provide for the browser tests; null when it is all there.
export async function backendMissing(base) {
  const login = await fetch(`${base}/.auth/login/guest`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=probe',
  });
  if (login.status === 404) return 'guest sign-in (POST /.auth/login/guest) is not there yet';
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  if (!cookie) return `guest sign-in answered ${login.status} without a session cookie`;
  const checks = [['/login.html', 'the login page'], ['/api/getToken', '/api/getToken'],
    ['/api/users', '/api/users'], ['/api/chats', '/api/chats'],
    ['/node_modules/vue/dist/vue.esm-browser.prod.js', 'the front-end packages (make deps)']];
  for (const [p, what] of checks) {
    const r = await fetch(base + p, { headers: { cookie }, redirect: 'manual' });
    if (r.status === 404) return `${what} answers 404`;
  }
  const hub = await fetch(`${base}/client/hubs/chat`, { redirect: 'manual' });
  if (hub.status === 404) return 'the Web PubSub hub /client/hubs/chat answers 404';
  return null;
}

// playwright's launch() gives Chromium a fresh temporary profile (user-data dir) every time and
// deletes it on close; it refuses a --user-data-dir argument.
export async function launchBrowser(pw) {
  return pw.chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// A browser context with its own cookies, whose page logs its console for failure reports.
export async function newUser(browser, base, name, viewport) {
  const context = await browser.newContext({ viewport: viewport || { width: 1200, height: 800 } });
  await context.grantPermissions(['notifications'], { origin: base });
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('dialog', (d) => {
    log.push(`[dialog] ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return { name, context, page, log };
}

// Signs in as a guest through the login page, as a person would.
export async function signInAsGuest(user, base) {
  const { page } = user;
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login\.html/);
  const form = page.locator('form[action="/.auth/login/guest"]');
  await form.locator('input[name="name"]').fill(user.name);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login.html')), form.locator('button[type="submit"]').click()]);
}

// Saves a screenshot and the console log of every user's page.
export async function saveArtifacts(label, users) {
  fs.mkdirSync(OUTPUT, { recursive: true });
  const safe = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  for (const u of users) {
    if (!u) continue;
    const base = path.join(OUTPUT, `${safe}-${u.name.toLowerCase()}`);
    try {
      await u.page.screenshot({ path: `${base}.png`, fullPage: true });
    } catch (e) {
      u.log.push(`[harness] screenshot failed: ${e.message}`);
    }
    fs.writeFileSync(`${base}.console.log`, u.log.join('\n') + '\n');
  }
}

/* The start every two-user suite shares: playwright-core and Chromium present, an emulator on a
 * free port with its backend, one browser and one page per name (not signed in yet), each with
 * timeoutMs as its default timeout. {skip} says why the suite cannot run (emu set once it
 * started, so the suite's after() stops it). */
export async function startUsers(names, timeoutMs) {
  const pw = loadPlaywright();
  if (!pw) return { skip: 'playwright-core is not installed (run make deps)' };
  if (!fs.existsSync(process.env.CHATR_CHROMIUM || '/usr/bin/chromium'))
    return { skip: 'chromium is not installed (run make deps)' };
  const emu = new Emulator(await freePort());
  const err = emu.start();
  if (err) throw new Error(err);
  const skip = await backendMissing(emu.url);
  if (skip) return { skip, emu };
  const browser = await launchBrowser(pw);
  const users = [];
  for (const name of names) {
    const u = await newUser(browser, emu.url, name);
    u.context.setDefaultTimeout(timeoutMs);
    users.push(u);
  }
  return { emu, browser, users };
}
