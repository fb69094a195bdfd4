// docs-screenshot.mjs: makes docs/screenshot-main.png (the main page with two chats open, as
// the README shows it) and docs/screenshot-phone.png, against a private emulator.
// Run: node tests/e2e/docs-screenshot.mjs   (after make deps and make)
import path from 'node:path';
import * as h from './harness.mjs';

process.env.CHATR_BIN_DIR ||= path.join(h.ROOT, 'build', 'bin');
const pw = h.loadPlaywright();
const emu = new h.Emulator(await h.freePort());
const err = emu.start();
if (err) throw new Error(err);
let browser;
try {
  browser = await h.launchBrowser(pw);
  const base = emu.url;
  const alice = await h.newUser(browser, base, 'Alice', { width: 1280, height: 760 });
  const bob = await h.newUser(browser, base, 'Bob');
  const carol = await h.newUser(browser, base, 'Carol');
  for (const u of [alice, bob, carol]) await h.signInAsGuest(u, base);
  const say = async (u, text) => {
    const box = u.page.locator('[data-testid=message-input]');
    await box.fill(text);
    await box.press('Enter');
    await u.page.waitForTimeout(250);
  };
  const join = async (u, name) => {
    await u.page.locator('[data-testid=chat-item]').filter({ hasText: name }).locator('a').click();
    await u.page.waitForTimeout(300);
  };
  await alice.page.fill('input[aria-label="new chat name"]', 'Weekend plans');
  await alice.page.click('button[aria-label="create chat"]');
  await bob.page.fill('input[aria-label="new chat name"]', 'Book club');
  await bob.page.click('button[aria-label="create chat"]');
  await alice.page.waitForTimeout(500);
  await join(bob, 'Weekend plans');
  await join(carol, 'Weekend plans');
  await join(alice, 'Book club');
  await say(bob, 'Finished chapter 3 last night');
  await join(alice, 'Weekend plans');
  await join(bob, 'Weekend plans');
  await say(alice, 'Anyone up for a hike on Saturday?');
  await say(bob, 'Yes! The ridge trail? <b>not bold</b>, just text');
  await say(carol, 'Count me in, I will bring snacks');
  await say(alice, 'Great, 9:00 at the car park');
  await bob.page.locator('[data-testid=chat-tab]').filter({ hasText: 'Book club' }).locator('a').click();
  await say(bob, 'Chapter 4 is a twist');
  await carol.page.locator('[data-testid=message-input]').pressSequentially('What about ra', { delay: 40 });
  await alice.page.waitForTimeout(400);
  await alice.page.screenshot({ path: path.join(h.ROOT, 'docs', 'screenshot-main.png') });
  await alice.page.setViewportSize({ width: 390, height: 760 });
  await alice.page.waitForTimeout(300);
  await alice.page.screenshot({ path: path.join(h.ROOT, 'docs', 'screenshot-phone.png') });
  console.log('wrote docs/screenshot-main.png and docs/screenshot-phone.png');
} finally {
  if (browser) await browser.close();
  emu.stop();
}
