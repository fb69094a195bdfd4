// oidc.test.mjs: sign-in with an OpenID Connect provider in a real browser (Debian's Chromium via
// playwright-core) against a private emulator and a real provider (node oidc-provider,
// tests/oidc/provider.mjs, on 127.0.0.1). The login page lists the provider; a click goes through
// the provider and back, and the chat opens signed in as the provider's user. A callback URL
// opened in another browser (login CSRF) ends on the error page, signed out. Skips (with the
// reason) when a piece is missing.
// Run: node --test tests/e2e/oidc.test.mjs   (CHATR_BIN_DIR picks the build)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';

const TIMEOUT_MS = 20000;
const PROVIDER = 'testidp';
const ACCOUNT = { sub: 'grace-42', claims: { preferred_username: 'grace', name: 'Grace Hopper', email: 'grace@example.test' } };

let emu, browser, idp, user, skipReason = null;

describe('OpenID Connect sign-in in the browser', () => {
  before(async () => {
    const pw = h.loadPlaywright();
    if (!pw) return (skipReason = 'playwright-core is not installed (make deps)');
    if (!fs.existsSync(path.join(h.ROOT, 'tests', 'oidc', 'node_modules', 'oidc-provider')))
      return (skipReason = 'tests/oidc/node_modules is missing (make deps)');
    const { startProvider } = await import('../oidc/provider.mjs');
    emu = new h.Emulator(await h.freePort());
    idp = await startProvider({
      port: await h.freePort(),
      clients: [{ client_id: 'chatr-e2e', client_secret: 'e2e-secret',
        redirect_uris: [`${emu.url}/.auth/login/${PROVIDER}/callback`] }],
      account: ACCOUNT,
    });
    const config = { auth: { identityProviders: { customOpenIdConnectProviders: { [PROVIDER]: {
      registration: {
        clientIdSettingName: 'E2E_OIDC_CLIENT_ID',
        clientCredential: { clientSecretSettingName: 'E2E_OIDC_CLIENT_SECRET' },
        openIdConnectConfiguration: { wellKnownOpenIdConfiguration: `${idp.issuer}/.well-known/openid-configuration` },
      },
      login: { nameClaimType: 'name' },
    } } } } };
    const file = path.join(emu.state, 'swa-config.json');
    fs.writeFileSync(file, JSON.stringify(config));
    Object.assign(emu.env, { CHATR_SWA_CONFIG: file, E2E_OIDC_CLIENT_ID: 'chatr-e2e', E2E_OIDC_CLIENT_SECRET: 'e2e-secret' });
    const err = emu.start();
    if (err) return (skipReason = err);
    browser = await h.launchBrowser(pw);
    user = await h.newUser(browser, emu.url, 'Grace');
  });

  after(async () => {
    if (browser) await browser.close();
    if (emu) emu.stop();
    if (idp) await idp.close();
  });

  it('lists the provider on the login page and signs in through it', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { page } = user;
    try {
      await page.goto(`${emu.url}/`);
      await page.waitForURL(/\/login\.html/, { timeout: TIMEOUT_MS });
      const link = page.locator(`#oidc-providers a[data-provider="${PROVIDER}"]`);
      await link.waitFor({ timeout: TIMEOUT_MS });
      assert.equal(await link.textContent(), PROVIDER);
      await Promise.all([
        page.waitForURL((u) => u.origin === emu.url && u.pathname === '/', { timeout: TIMEOUT_MS }),
        link.click(),
      ]);
      const me = await page.evaluate(() => fetch('/.auth/me').then((r) => r.json()));
      const p = me.clientPrincipal;
      assert.equal(p.identityProvider, PROVIDER);
      assert.match(p.userId, new RegExp(`^${PROVIDER}\\.[0-9a-f]{32}$`));
      assert.equal(p.userDetails, 'Grace Hopper'); // login.nameClaimType: name
      assert.deepEqual([...p.userRoles].sort(), ['anonymous', 'authenticated']);
      // the chat app itself was served: "/" is for the authenticated role only
      assert.equal(await page.title(), 'Chatr');
    } catch (err) {
      await h.saveArtifacts('oidc sign-in', [user]);
      throw err;
    }
  });

  it('a callback URL carried to another browser ends on the error page, signed out', async (t) => {
    // Login CSRF: Mallory signs in, keeps the callback URL and gets Victim's browser to open it.
    if (skipReason) return t.skip(skipReason);
    const mallory = await h.newUser(browser, emu.url, 'Mallory');
    const victim = await h.newUser(browser, emu.url, 'Victim');
    try {
      const seen = mallory.page.waitForRequest((r) => r.url().startsWith(`${emu.url}/.auth/login/${PROVIDER}/callback?`));
      await mallory.page.goto(`${emu.url}/.auth/login/${PROVIDER}`);
      const callback = (await seen).url();
      const { page } = victim;
      const r = await page.goto(callback);
      assert.equal(r.status(), 400);
      assert.match(await page.locator('h1').textContent(), /Sign-in failed/);
      assert.match(await page.locator('.error').textContent(), /could not be matched/);
      // (the error page's CSP allows no fetch: ask with the browser context's cookies)
      const me = await (await victim.context.request.get(`${emu.url}/.auth/me`)).json();
      assert.equal(me.clientPrincipal, null);
      // a made-up state, the same
      const r2 = await page.goto(`${emu.url}/.auth/login/${PROVIDER}/callback?code=x&state=${'A'.repeat(43)}`);
      assert.equal(r2.status(), 400);
    } catch (err) {
      await h.saveArtifacts('oidc callback elsewhere', [mallory, victim]);
      throw err;
    } finally {
      await mallory.context.close();
      await victim.context.close();
    }
  });
});
