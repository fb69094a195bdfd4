// history.test.mjs: chat history, catch-up and the bot in a real browser (Debian's Chromium via
// playwright-core) against a private emulator. Two guests share a chat: messages are there once
// and in order after a reload; scrolling up loads older pages and keeps the view; a client that
// drops while 50 messages are sent shows exactly those 50 once after reconnecting (and counts
// them as unread in a chat not in view); /roll and /me bring bot messages; /topic shows the
// topic in the tab. Steps skip (with the reason) when a backend piece is missing.
// Run: node --test tests/e2e/history.test.mjs   (CHATR_BIN_DIR picks the build)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const TIMEOUT_MS = 20000;     // one UI condition on a loaded 2-core box
const RECONNECT_MS = 60000;   // the socket's backoff grows while getToken is blocked
const CHAT = 'History';

let emu, browser, alice, bob, chatId;
let skipReason = null, failed = null;
const missing = {}; // backend piece -> why the steps needing it skip

// One step; `needs` lists backend pieces it depends on (see probes in before()).
function step(name, needs, fn) {
  it(name, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const gap = needs.map((n) => missing[n]).find(Boolean);
    if (gap) return t.skip(gap);
    if (failed) return t.skip(`an earlier step failed: ${failed}`);
    try {
      await fn();
    } catch (err) {
      failed = name;
      await h.saveArtifacts(`history ${name}`, [alice, bob]);
      throw err;
    }
  });
}

const tab = (u, text) => u.page.locator('[data-testid=chat-tab]').filter({ hasText: text });
const toast = (u, text) => u.page.locator('[data-testid=toast]').filter({ hasText: text }).first();
// The messages whose text is exactly this string (or matches this RegExp).
const exactly = (s) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
const byText = (u, text) => u.page.locator('[data-testid=message]').filter({
  has: u.page.locator('[data-testid=text]', { hasText: typeof text === 'string' ? exactly(text) : text }),
});

async function send(u, text) {
  const box = u.page.locator('[data-testid=message-input]');
  await box.fill(text);
  await box.press('Enter');
}

// The texts of the messages shown, in order, and their hub ids.
const shown = (u) => u.page.$$eval('[data-testid=message]', (els) => els.map((e) => ({
  text: e.querySelector('[data-testid=text]')?.textContent ?? '',
  id: e.dataset.id === undefined ? null : Number(e.dataset.id),
})));

// Waits until no history page is loading in the chat shown.
const historySettled = (u) => u.page.locator('[data-testid=history-loading]').waitFor({ state: 'detached' });

// Sends n messages "<prefix> 1".."<prefix> n" as u, quickly: through the page's own socket
// (the app's modules, imported again, are the same instances), one ack after another.
async function sendMany(u, prefix, n) {
  await u.page.evaluate(async ({ chat, prefix, n }) => {
    const c = await import('/js/connection.js');
    const f = await import('/js/frames.js');
    const { state } = await import('/js/store.js');
    for (let i = 1; i <= n; i++) await c.send(f.chatMessage(chat, state.me, `${prefix} ${i}`));
  }, { chat: chatId, prefix, n });
}

// Asserts that the texts "<prefix> 1".."<prefix> n" are each shown once, in this order, with
// increasing hub ids.
async function assertAllOnceInOrder(u, prefix, n) {
  const re = new RegExp(`^${prefix} (\\d+)$`);
  const got = (await shown(u)).filter((m) => re.test(m.text));
  assert.deepEqual(got.map((m) => m.text), Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`));
  for (let i = 1; i < got.length; i++) assert.ok(got[i].id > got[i - 1].id, `ids increase at ${got[i].text}`);
}

// Scrolls u's chat to the top until cond() holds (a scroll that comes while a page is loading
// may find nothing more to do, so it is repeated).
async function scrollUpUntil(u, cond, what) {
  const until = Date.now() + TIMEOUT_MS * 2;
  while (!(await cond())) {
    assert.ok(Date.now() < until, `scrolling up never showed ${what}`);
    await u.page.locator('[data-testid=messages]').evaluate((el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
    });
    await u.page.waitForFunction(() => !document.querySelector('[data-testid=history-loading]'), null, { timeout: TIMEOUT_MS });
    await u.page.waitForTimeout(200);
  }
}

// Sends a slash command through the page's socket; resolves to the error ack's message or null.
const commandAck = (u, text) => u.page.evaluate(async ({ chat, text }) => {
  const c = await import('/js/connection.js');
  const f = await import('/js/frames.js');
  try {
    await c.send(f.chatCommand(chat, text));
    return null;
  } catch (err) {
    return `${err.name}: ${err.message}`;
  }
}, { chat: chatId, text });

describe('Chat history, catch-up and the bot in the browser', { concurrency: false }, () => {
  before(async () => {
    let users;
    ({ skip: skipReason, emu, browser, users } = await h.startUsers(['Alice', 'Bob'], TIMEOUT_MS));
    if (skipReason) return;
    [alice, bob] = users;
    try {
      await h.signInAsGuest(alice, emu.url);
      await h.signInAsGuest(bob, emu.url);
      await alice.page.fill('input[aria-label="new chat name"]', CHAT);
      await alice.page.click('button[aria-label="create chat"]');
      await tab(alice, CHAT).waitFor();
      chatId = await tab(alice, CHAT).getAttribute('data-chat-id');
      await bob.page.locator('[data-testid=chat-item]').filter({ hasText: CHAT }).locator('a').click();
      await tab(bob, CHAT).waitFor();
      await alice.page.locator('[data-testid=notice]', { hasText: 'Bob has joined the chat' }).waitFor();
    } catch (e) {
      await h.saveArtifacts('history setup', [alice, bob]);
      throw e;
    }
    // Backend pieces of issue 6 that may not be there yet.
    const status = await alice.page.evaluate(async (id) =>
      (await fetch(`/api/chats/${encodeURIComponent(id)}/messages?limit=1`, { cache: 'no-store' })).status, chatId);
    if (status !== 200) missing.history = `GET /api/chats/{id}/messages answers ${status} to a member`;
    const ack = await commandAck(alice, '/help');
    if (ack) console.log(`# /help acked with ${ack}`);
    if (ack && /unknown event|answered 400/i.test(ack)) missing.bot = `the chatCommand event is not handled yet (${ack})`;
  });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      if (emu) emu.stop();
    }
  });

  step('history is shown after a reload, each message once and in order', ['history'], async () => {
    for (let i = 1; i <= 5; i++) await send(alice, `early ${i}`);
    await byText(bob, 'early 5').waitFor();
    await alice.page.reload();
    await tab(alice, CHAT).waitFor();
    await byText(alice, 'early 5').waitFor();
    await historySettled(alice);
    await assertAllOnceInOrder(alice, 'early', 5);
    assert.equal((await byText(alice, 'early 1').locator('[data-testid=sender]').textContent()).trim(), 'You');
    // Bob's view has them once too, and the join notice came back from history as well.
    await assertAllOnceInOrder(bob, 'early', 5);
    assert.equal(await alice.page.locator('[data-testid=notice]', { hasText: 'Bob has joined the chat' }).count(), 1);
    assert.match(await byText(alice, 'early 1').locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  });

  step('a listed word arrives masked, live and from history', ['history'], async () => {
    await send(alice, 'what a crap plan');
    await byText(bob, 'what a **** plan').waitFor();
    await bob.page.reload();
    await byText(bob, 'what a **** plan').waitFor();
    assert.equal(await byText(bob, /crap/).count(), 0);
  });

  step('scrolling up loads older pages and keeps the view in place', ['history'], async () => {
    await sendMany(bob, 'bulk', 60);
    await byText(alice, 'bulk 60').waitFor();
    await alice.page.reload();
    await byText(alice, 'bulk 60').waitFor();
    await historySettled(alice);
    // The newest page (50) only: the first ten and the early ones are older.
    assert.equal(await byText(alice, 'bulk 11').count(), 1);
    assert.equal(await byText(alice, 'bulk 10').count(), 0);
    assert.equal(await alice.page.locator('[data-testid=history-start]').count(), 0);
    await scrollUpUntil(alice, async () => (await byText(alice, 'bulk 1').count()) > 0, '"bulk 1"');
    // The message that was at the top is still in view: the page was put above it.
    const view = await alice.page.locator('[data-testid=messages]').boundingBox();
    const kept = await byText(alice, 'bulk 11').boundingBox();
    assert.ok(kept && kept.y >= view.y - kept.height && kept.y <= view.y + view.height,
      `"bulk 11" left the view (${JSON.stringify(kept)} in ${JSON.stringify(view)})`);
    await scrollUpUntil(alice, async () => (await alice.page.locator('[data-testid=history-start]').count()) > 0,
      'the beginning of the conversation');
    await assertAllOnceInOrder(alice, 'bulk', 60);
    await assertAllOnceInOrder(alice, 'early', 5);
  });

  step('a client that drops while 50 messages are sent shows exactly those 50 once after reconnecting', ['history'], async () => {
    // Alice has read the group up to its newest message (shown in her focused window: the
    // server keeps that as her read state, docs/chat-features.md#in-the-web-app) ...
    await alice.page.bringToFront();
    await tab(alice, CHAT).locator('a').click();
    await alice.page.locator('[data-testid=messages]').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.dispatchEvent(new Event('scroll'));
    });
    const newest = Number(await alice.page.locator('[data-testid=messages] [data-id]').last().getAttribute('data-id'));
    const readUntil = Date.now() + TIMEOUT_MS;
    for (;;) {
      const c = await alice.page.evaluate(async (id) =>
        (await (await fetch('/api/chats', { cache: 'no-store' })).json()).chats[id], chatId);
      if (!Number.isSafeInteger(c?.unread) || c.lastReadId >= newest) break; // (a server without read state counts locally)
      assert.ok(Date.now() < readUntil, `Alice's read state never reached ${newest}`);
      await alice.page.waitForTimeout(250);
    }
    // ... then looks at a private chat: what she missed in the group counts as unread there.
    await bob.page.locator('[data-testid=user-item]').filter({ hasText: 'Alice' }).locator('a').click();
    const privateTab = tab(alice, /Alice & Bob|Bob & Alice/);
    await privateTab.waitFor();
    await privateTab.locator('a').click();
    const me = await alice.page.evaluate(async () => (await (await fetch('/.auth/me')).json()).clientPrincipal.userId);
    // Her socket is closed and cannot come back (no token) until Bob has sent everything.
    await alice.page.route('**/api/getToken**', (route) => route.abort());
    const r = await emu.hubRest('POST', `/api/hubs/chat/users/${encodeURIComponent(me)}/:closeConnections`);
    assert.equal(r.status, 204, `closeConnections answered ${r.status}`);
    await alice.page.locator('[data-testid=connection-lost]').waitFor();
    await sendMany(bob, 'missed', 50);
    await alice.page.unroute('**/api/getToken**');
    await toast(alice, 'Reconnected').waitFor({ timeout: RECONNECT_MS });
    await tab(alice, CHAT).locator('[data-testid=unread]', { hasText: '50' }).waitFor();
    // A message after the reconnect: once it is there, catch-up and live delivery both had
    // their turn.
    await tab(bob, CHAT).locator('a').click();
    await send(bob, 'after the gap');
    await tab(alice, CHAT).locator('a').click();
    await byText(alice, 'after the gap').waitFor();
    await historySettled(alice);
    await assertAllOnceInOrder(alice, 'missed', 50);
    const texts = (await shown(alice)).map((m) => m.text);
    assert.equal(texts.length, new Set(texts).size, 'a message is shown twice');
    assert.ok(texts.indexOf('missed 50') < texts.indexOf('after the gap'));
    await alice.page.waitForFunction(() => document.title === 'Chatr');
  });

  step('/roll is answered by the bot, and /me is shown as an action', ['bot'], async () => {
    await send(alice, '/roll 2d6');
    const reply = bob.page.locator('[data-testid=message][data-from=bot]').last();
    await reply.waitFor();
    assert.equal((await reply.locator('[data-testid=sender]').textContent()).trim(), 'Chatr Bot');
    assert.match(await reply.locator('[data-testid=text]').textContent(), /\d/);
    assert.match(await reply.getAttribute('class'), /is-bot/);
    assert.equal(await byText(bob, '/roll 2d6').count(), 0, 'the command itself is not a message');
    assert.equal(await alice.page.locator('[data-testid=message-input]').inputValue(), '');
    await send(alice, '/me waves');
    await bob.page.locator('.chatr-action', { hasText: '* Alice waves' }).waitFor();
    // A command for a chat one is not in comes back as an error, shown as a toast.
    await bob.page.evaluate(async () => (await import('/js/actions.js')).sendMessage('no-such-chat', '/roll'));
    await toast(bob, '/roll failed').waitFor();
  });

  step('/topic by the owner shows the topic in the tab, for everyone and after a reload', ['bot'], async () => {
    await tab(alice, CHAT).locator('a').click();
    await send(alice, '/topic Plans for Friday');
    for (const u of [alice, bob]) await tab(u, CHAT).locator('[data-testid=tab-topic]', { hasText: 'Plans for Friday' }).waitFor();
    await bob.page.locator('[data-testid=chat-topic]', { hasText: 'Plans for Friday' }).waitFor();
    await byText(bob, /set the topic: Plans for Friday/).last().waitFor();
    await bob.page.reload();
    await tab(bob, CHAT).locator('[data-testid=tab-topic]', { hasText: 'Plans for Friday' }).waitFor();
    // Bob is not the owner: the bot says no and the topic stays.
    await tab(bob, CHAT).locator('a').click();
    const before = await bob.page.locator('[data-testid=message][data-from=bot]').count();
    await send(bob, '/topic Mine now');
    await bob.page.locator('[data-testid=message][data-from=bot]').nth(before).waitFor();
    assert.equal(await tab(alice, CHAT).locator('[data-testid=tab-topic]').textContent(), 'Plans for Friday');
  });
});
