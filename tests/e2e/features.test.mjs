// features.test.mjs: issue 16's chat features in a real browser (Debian's Chromium via
// playwright-core) against a private emulator, two guests in two browsers sharing a chat:
// edit and delete seen live, a reaction seen live, a mention's toast and badge in the other
// window (also in a tab where that chat is not open, whose toast opens the chat at the message),
// unread and mention counts after a reload (and a read in one tab clearing the badge in
// another), private chats listed with their badges, search that opens the chat at the hit, an
// image upload shown as a thumbnail, and markup in messages, file names and search hits staying
// text. Each test stands alone (its own
// messages, both users back on the shared chat first) and skips, saying why, when the server
// piece it needs is not there. Run: node --test tests/e2e/features.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import * as h from './harness.mjs';

const TIMEOUT_MS = 20000; // one UI condition on a loaded 2-core box
const CHAT = 'Features';
const OTHER = 'Elsewhere';
const XSS = '<img src=x onerror=alert(1)>';

let emu, browser, alice, bob, chatId;
let skipReason = null;
const missing = {}; // server piece -> why the tests needing it skip

function test(name, needs, fn) {
  it(name, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const gap = needs.map((n) => missing[n]).find(Boolean);
    if (gap) return t.skip(gap);
    try {
      await fn();
    } catch (err) {
      await h.saveArtifacts(`features ${name}`, [alice, bob]);
      throw err;
    }
  });
}

const tab = (u, text) => u.page.locator('[data-testid=chat-tab]').filter({ hasText: text });
const toast = (u, text) => u.page.locator('[data-testid=toast]').filter({ hasText: text }).first();
const exactly = (s) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
const byText = (u, text) => u.page.locator('[data-testid=message]').filter({
  has: u.page.locator('[data-testid=text]', { hasText: typeof text === 'string' ? exactly(text) : text }),
});
const byId = (u, id) => u.page.locator(`[data-testid=message][data-id="${id}"]`);
const unique = (word) => `${word}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function send(u, text) {
  const box = u.page.locator('[data-testid=message-input]');
  await box.fill(text);
  await box.press('Enter');
}

// Shows the chat in u's window (its tab exists from before()).
async function showChat(u, name = CHAT) {
  await calm(u);
  await tab(u, name).locator('a').first().click();
  await tab(u, name).and(u.page.locator('.is-active')).waitFor();
}

// Sends text as u in the chat u shows and waits until it is stored (has its hub id) and, when
// v is given, until v (looking at that chat) has it; returns its id.
async function sendSeen(u, v, text) {
  await send(u, text);
  const mine = byText(u, text).last().and(u.page.locator('[data-id]'));
  await mine.waitFor();
  if (v) await byText(v, text).last().waitFor();
  return Number(await mine.getAttribute('data-id'));
}

// An event through u's own socket; resolves to the error ack as "Name: message", or null.
const eventAck = (u, name, data) => u.page.evaluate(async ({ name, data }) => {
  const c = await import('/js/connection.js');
  try {
    await c.send({ type: 'event', event: name, dataType: 'json', data });
    return null;
  } catch (err) {
    return `${err.name}: ${err.message}`;
  }
}, { name, data });

// GET /api/chats as u: this chat's entry.
const chatEntry = (u, id) => u.page.evaluate(async (id) =>
  (await (await fetch('/api/chats', { cache: 'no-store' })).json()).chats[id], id);

// Polls cond() (async) until it holds; fails after TIMEOUT_MS.
async function until(cond, what) {
  const end = Date.now() + TIMEOUT_MS;
  while (!(await cond())) {
    assert.ok(Date.now() < end, `never: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Closes what floats over the page (search results, a picker) before a test clicks around.
async function calm(u) {
  if (await u.page.locator('[data-testid=search-results]').count()) {
    await u.page.locator('[data-testid=search-input]').focus();
    await u.page.keyboard.press('Escape');
  }
  if (await u.page.locator('[data-testid=image-viewer]').count()) await u.page.keyboard.press('Escape');
}

// A w×h PNG of one colour (no binary fixture): signature, IHDR, IDAT, IEND with their CRCs.
function png(w, hgt) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0x5a)]);
  const raw = Buffer.concat(Array.from({ length: hgt }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Another tab of u's (same session, so no chat tabs restored: every chat is closed there), its
// browser notifications recorded in window.__notes. Close its page when done.
async function secondTab(u) {
  const u2 = { name: `${u.name}2`, context: u.context, page: await u.context.newPage(), log: [] };
  u2.page.on('console', (m) => u2.log.push(`[${m.type()}] ${m.text()}`));
  u2.page.on('pageerror', (e) => u2.log.push(`[pageerror] ${e.message}`));
  await u2.page.addInitScript(() => {
    window.__notes = [];
    window.Notification = class {
      static permission = 'granted';
      constructor(title, opts) {
        window.__notes.push({ title, body: opts && opts.body });
      }
      close() {}
    };
  });
  await u2.page.goto(`${emu.url}/`);
  await u2.page.locator('[data-testid=chat-item]').first().waitFor();
  return u2;
}

const userIdOf = (u) => u.page.evaluate(async () => (await (await fetch('/.auth/me')).json()).clientPrincipal.userId);

const noDialogs = () => {
  for (const u of [alice, bob]) assert.ok(!u.log.some((l) => l.startsWith('[dialog]')), `${u.name} saw a dialog`);
};

describe('Issue 16 chat features in the browser', { concurrency: false }, () => {
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
      // Bob has a chat of his own to look at while things happen in the shared one.
      await bob.page.fill('input[aria-label="new chat name"]', OTHER);
      await bob.page.click('button[aria-label="create chat"]');
      await tab(bob, OTHER).waitFor();
      await bob.page.locator('[data-testid=chat-item]').filter({ hasText: CHAT }).locator('a').click();
      await tab(bob, CHAT).waitFor();
      await alice.page.locator('[data-testid=notice]', { hasText: 'Bob has joined the chat' }).waitFor();
    } catch (e) {
      await h.saveArtifacts('features setup', [alice, bob]);
      throw e;
    }
    // Which server pieces are there: an event the server does not know is "unknown event".
    const id = await sendSeen(alice, bob, 'probe');
    for (const [piece, name, data] of [
      ['mention', 'mention', { chatId, messageId: id }],
      ['edit', 'editMessage', { chatId, messageId: id, text: 'probe' }],
      ['react', 'react', { chatId, messageId: id, emoji: '👀', on: false }],
      ['read', 'markRead', { chatId, messageId: id }],
    ]) {
      const ack = await eventAck(alice, name, data);
      // (The hub's error ack says only "event handler answered 400": a valid request refused
      // means the event is not there.)
      if (ack) missing[piece] = `the ${name} event is refused (${ack}): not there yet?`;
    }
    const entry = await chatEntry(bob, chatId);
    if (!Number.isSafeInteger(entry?.unread)) missing.counts = 'GET /api/chats gives no unread counts yet';
    const status = (p, init) => alice.page.evaluate(async ({ p, init }) => (await fetch(p, init)).status, { p, init });
    const s = await status('/api/search?q=probe');
    if (s === 404 || s === 405) missing.search = `GET /api/search answers ${s}`;
    const f = await status(`/api/chats/${encodeURIComponent(chatId)}/files`, { method: 'POST' });
    if (f === 404 || f === 405) missing.files = `POST /api/chats/{id}/files answers ${f}`;
    const a = await status(`/api/chats/${encodeURIComponent(chatId)}/messages?around=${id}`);
    if (a !== 200) missing.around = `GET /api/chats/{id}/messages?around= answers ${a}`;
    for (const [k, v] of Object.entries(missing)) console.log(`# ${k}: ${v}`);
  });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      if (emu) emu.stop();
    }
  });

  test('an edit and a deletion are seen live by the other member, and after a reload', ['edit'], async () => {
    await showChat(alice);
    await showChat(bob);
    const text = unique('typo');
    const id = await sendSeen(alice, bob, text);
    // Bob may neither edit nor delete Alice's message (he does not own the chat).
    await byId(bob, id).hover();
    assert.equal(await byId(bob, id).locator('[data-testid=edit]').count(), 0);
    assert.equal(await byId(bob, id).locator('[data-testid=delete]').count(), 0);
    // Alice edits in place; Esc first cancels an edit.
    await byId(alice, id).hover();
    await byId(alice, id).locator('[data-testid=edit]').click();
    await alice.page.locator('[data-testid=edit-input]').fill('never sent');
    await alice.page.locator('[data-testid=edit-input]').press('Escape');
    await alice.page.locator('[data-testid=edit-input]').waitFor({ state: 'detached' });
    await byId(alice, id).hover();
    await byId(alice, id).locator('[data-testid=edit]').click();
    await alice.page.locator('[data-testid=edit-input]').fill(`${text} fixed`);
    await alice.page.locator('[data-testid=edit-input]').press('Enter');
    await byId(bob, id).locator('[data-testid=text]', { hasText: exactly(`${text} fixed`) }).waitFor();
    const mark = byId(bob, id).locator('[data-testid=edited]');
    await mark.waitFor();
    assert.match(await mark.getAttribute('title'), /^Edited /);
    // Deleted after confirming: a tombstone for both, the text gone.
    await byId(alice, id).hover();
    await byId(alice, id).locator('[data-testid=delete]').click();
    await alice.page.locator('[data-testid=confirm]').click();
    for (const u of [alice, bob]) {
      await byId(u, id).locator('[data-testid=tombstone]').waitFor();
      assert.equal(await byId(u, id).locator('[data-testid=text]').count(), 0);
    }
    // History gives the current state: still a tombstone after a reload.
    await bob.page.reload();
    await showChat(bob);
    await byId(bob, id).locator('[data-testid=tombstone]').waitFor();
    assert.equal(await bob.page.getByText(text).count(), 0);
  });

  test('a reaction is seen live, with who reacted, and taken back', ['react'], async () => {
    await showChat(alice);
    await showChat(bob);
    const id = await sendSeen(alice, bob, unique('react to me'));
    await byId(bob, id).hover();
    await byId(bob, id).locator('[data-testid=react]').click();
    await bob.page.locator('[data-testid=emoji-picker] [data-emoji="🎉"]').click();
    const chip = (u) => byId(u, id).locator('[data-testid=reaction][data-emoji="🎉"]');
    await chip(alice).locator('[data-testid=reaction-count]', { hasText: exactly('1') }).waitFor();
    assert.match(await chip(alice).getAttribute('title'), /Bob/);
    assert.doesNotMatch(await chip(alice).getAttribute('class'), /is-me/);
    await chip(bob).and(bob.page.locator('.is-me')).waitFor();
    // Alice adds hers by clicking the chip: 2; Bob takes his back: 1, and Alice's stays hers.
    await chip(alice).click();
    await chip(bob).locator('[data-testid=reaction-count]', { hasText: exactly('2') }).waitFor();
    await chip(bob).click();
    await chip(alice).locator('[data-testid=reaction-count]', { hasText: exactly('1') }).waitFor();
    await chip(alice).and(alice.page.locator('.is-me')).waitFor();
    // After a reload the reaction comes from history.
    await bob.page.reload();
    await showChat(bob);
    await chip(bob).locator('[data-testid=reaction-count]', { hasText: exactly('1') }).waitFor();
  });

  test('a mention picked from the autocomplete notifies the other member and marks the chat', [], async () => {
    await showChat(alice);
    await showChat(bob, OTHER); // Bob looks at another chat
    await bob.page.evaluate(() => {
      window.__notes = [];
      window.Notification = class {
        static permission = 'granted';
        constructor(title, opts) {
          window.__notes.push({ title, body: opts && opts.body });
        }
        close() {}
      };
    });
    const word = unique('ping');
    const box = alice.page.locator('[data-testid=message-input]');
    await box.fill('');
    await box.pressSequentially('hey @bo', { delay: 20 });
    const option = alice.page.locator('[data-testid=mention-option]', { hasText: 'Bob' });
    await option.waitFor();
    await box.press('Enter'); // picks the name; does not send
    assert.equal(await box.inputValue(), 'hey @Bob ');
    await box.pressSequentially(`look ${word}`, { delay: 10 });
    await box.press('Enter');
    await toast(bob, /Alice mentioned you in Features/).waitFor();
    await tab(bob, CHAT).locator('[data-testid=mention-badge]', { hasText: '@1' }).waitFor();
    await bob.page.waitForFunction(() => window.__notes.some((n) => /mentioned you/.test(n.title)));
    const note = await bob.page.evaluate(() => window.__notes.find((n) => /mentioned you/.test(n.title)));
    assert.match(note.body, /^hey @Bob look /);
    // In the chat the mention is a highlighted name, not the token.
    await showChat(bob);
    const msg = byText(bob, new RegExp(word)).last();
    await msg.locator('[data-testid=mention]', { hasText: exactly('@Bob') }).waitFor();
    assert.doesNotMatch(await msg.locator('[data-testid=text]').textContent(), /<@/);
    await tab(bob, CHAT).locator('[data-testid=mention-badge]').waitFor({ state: 'detached' });
    // The line on the wire carries the id in `mentions` (the other client's badge came from it).
    const bobId = await bob.page.evaluate(async () => (await (await fetch('/.auth/me')).json()).clientPrincipal.userId);
    assert.equal(await msg.locator('[data-testid=mention]').getAttribute('data-user-id'), bobId);
  });

  test('unread and mention counts come back after a reload, with a "new messages" divider', ['read', 'counts'], async () => {
    await showChat(alice);
    await showChat(bob);
    const seenId = await sendSeen(alice, bob, unique('read this'));
    // Bob has read it once the server says so (his window reports what is on screen).
    await until(async () => {
      const c = await chatEntry(bob, chatId);
      return c && c.unread === 0 && c.lastReadId >= seenId;
    }, 'the server has Bob\'s read state');
    await showChat(bob, OTHER);
    const first = unique('unread one');
    await sendSeen(alice, null, first);
    await sendSeen(alice, null, unique('unread two'));
    const box = alice.page.locator('[data-testid=message-input]');
    await box.pressSequentially('and @Bo', { delay: 20 });
    await alice.page.locator('[data-testid=mention-option]', { hasText: 'Bob' }).waitFor();
    await box.press('Tab');
    await box.press('Enter');
    await tab(bob, CHAT).locator('[data-testid=unread]', { hasText: exactly('3') }).waitFor();
    await bob.page.reload();
    // After the reload the counts are the server's.
    await tab(bob, CHAT).locator('[data-testid=unread]', { hasText: exactly('3') }).waitFor();
    await tab(bob, CHAT).locator('[data-testid=mention-badge]', { hasText: '@1' }).waitFor();
    await bob.page.locator('[data-testid=chat-item]').filter({ hasText: CHAT })
      .locator('[data-testid=list-mention-badge]', { hasText: '@1' }).waitFor();
    // Opening the chat: the divider sits right before the first unread message; badges go.
    await showChat(bob);
    const divider = bob.page.locator('[data-testid=new-divider]');
    await divider.waitFor();
    const next = await divider.evaluate((d) => d.nextElementSibling?.querySelector('[data-testid=text]')?.textContent);
    assert.equal(next, first);
    await tab(bob, CHAT).locator('[data-testid=unread]').waitFor({ state: 'detached' });
  });

  test("reading in one tab clears the badge in the user's other tab", ['read', 'counts'], async () => {
    await showChat(alice);
    await showChat(bob, OTHER);
    await sendSeen(alice, null, unique('for both tabs'));
    await tab(bob, CHAT).locator('[data-testid=unread]').waitFor();
    // A second tab of Bob's (same session): the chat list shows the server's count.
    const bob2 = { name: 'Bob2', context: bob.context, page: await bob.context.newPage(), log: [] };
    try {
      bob2.page.on('pageerror', (e) => bob2.log.push(`[pageerror] ${e.message}`));
      await bob2.page.goto(`${emu.url}/`);
      const badge = bob2.page.locator('[data-testid=chat-item]').filter({ hasText: CHAT }).locator('[data-testid=list-unread]');
      await badge.waitFor();
      // Bob reads it in his first tab: the badge in the second goes (readState).
      await bob.page.bringToFront();
      await showChat(bob);
      await badge.waitFor({ state: 'detached' });
    } catch (err) {
      await h.saveArtifacts('features other tab', [bob2]);
      throw err;
    } finally {
      await bob2.page.close();
    }
  });

  test('search finds a message and opens its chat at it', ['search'], async () => {
    await showChat(alice);
    await showChat(bob, OTHER);
    const word = unique('zebra');
    const id = await sendSeen(alice, null, `the ${word} crossed <b>the</b> road`);
    // Enough newer messages that the hit is not in the newest page after a reload.
    await alice.page.evaluate(async ({ chat }) => {
      const c = await import('/js/connection.js');
      const f = await import('/js/frames.js');
      const { state } = await import('/js/store.js');
      for (let i = 1; i <= 60; i++) await c.send(f.chatMessage(chat, state.me, `filler ${i}`));
    }, { chat: chatId });
    await byText(alice, 'filler 60').and(alice.page.locator('[data-id]')).waitFor();
    await bob.page.reload();
    await tab(bob, OTHER).waitFor();
    await bob.page.locator('[data-testid=search-input]').fill(word);
    await bob.page.locator('[data-testid=search-input]').press('Enter');
    const hit = bob.page.locator(`[data-testid=search-hit][data-id="${id}"]`);
    await hit.waitFor();
    assert.equal(await hit.locator('mark').first().textContent(), word);
    // No element came of the markup (the server's fragment leaves tags out; the text is text).
    assert.equal(await bob.page.locator('[data-testid=search-results] b, [data-testid=search-results] img').count(), 0);
    await hit.click();
    await tab(bob, CHAT).and(bob.page.locator('.is-active')).waitFor();
    const msg = byId(bob, id);
    await msg.waitFor();
    await msg.and(bob.page.locator('.is-flash')).waitFor();
    assert.ok(await msg.isVisible());
    const view = await bob.page.locator('[data-testid=messages]').boundingBox();
    const box = await msg.boundingBox();
    assert.ok(box.y >= view.y && box.y + box.height <= view.y + view.height, 'the hit is scrolled into view');
  });

  test('an uploaded image is shown as a thumbnail that opens full size', ['files'], async () => {
    await showChat(alice);
    await showChat(bob);
    await alice.page.locator('[data-testid=file-input]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png(64, 48) });
    const thumb = bob.page.locator('[data-testid=message] [data-testid=thumbnail][alt="dot.png"]').last();
    await thumb.waitFor();
    await thumb.scrollIntoViewIfNeeded(); // thumbnails load when scrolled to
    assert.match(await thumb.getAttribute('src'), /^\/api\/files\/[^/?]+\?thumb=1$/);
    await bob.page.waitForFunction(() => [...document.querySelectorAll('[data-testid=thumbnail]')].some((i) => i.complete && i.naturalWidth > 0));
    await thumb.click();
    const full = bob.page.locator('[data-testid=image-viewer] [data-testid=full-image]');
    await full.waitFor();
    assert.match(await full.getAttribute('src'), /^\/api\/files\/[^/?]+$/);
    await bob.page.keyboard.press('Escape');
    await full.waitFor({ state: 'detached' });
    await alice.page.locator('[data-testid=upload]').waitFor({ state: 'detached' });
  });

  test('a mention reaches a tab where its chat is not open, and its toast opens the chat at it', ['mention'], async () => {
    await showChat(alice);
    await showChat(bob, OTHER);
    const bob2 = await secondTab(bob);
    try {
      assert.equal(await bob2.page.locator('[data-testid=chat-tab]').count(), 0);
      const item = bob2.page.locator('[data-testid=chat-item]').filter({ hasText: CHAT });
      await item.waitFor();
      const unread = item.locator('[data-testid=list-unread]');
      const before = (await unread.count()) ? Number(await unread.textContent()) : 0;
      const word = unique('closed');
      const box = alice.page.locator('[data-testid=message-input]');
      await box.fill('');
      await box.pressSequentially('over here @bo', { delay: 20 });
      await alice.page.locator('[data-testid=mention-option]', { hasText: 'Bob' }).waitFor();
      await box.press('Enter');
      await box.pressSequentially(word, { delay: 10 });
      await box.press('Enter');
      const mine = byText(alice, new RegExp(word)).last().and(alice.page.locator('[data-id]'));
      await mine.waitFor();
      const id = Number(await mine.getAttribute('data-id'));
      // No tab of the chat in Bob's second tab, yet: a toast, a browser notification, the badge.
      const note = toast(bob2, /Alice mentioned you in Features/);
      await note.waitFor();
      assert.match(await note.textContent(), new RegExp(`over here @Bob ${word}`));
      await item.locator('[data-testid=list-mention-badge]', { hasText: '@1' }).waitFor();
      await item.locator('[data-testid=list-unread]', { hasText: exactly(String(before + 1)) }).waitFor();
      await bob2.page.waitForFunction(() => window.__notes.some((n) => /Alice mentioned you in Features/.test(n.title)));
      // Bob's first tab, where the chat is open, is told once: one toast there, not two.
      await toast(bob, new RegExp(word)).waitFor();
      await bob.page.waitForTimeout(500);
      assert.equal(await bob.page.locator('[data-testid=toast]').filter({ hasText: word }).count(), 1);
      // The toast opens the chat at that message.
      await note.click();
      await tab(bob2, CHAT).and(bob2.page.locator('.is-active')).waitFor();
      await byId(bob2, id).and(bob2.page.locator('.is-flash')).waitFor();
      await item.locator('[data-testid=list-mention-badge]').waitFor({ state: 'detached' });
    } catch (err) {
      await h.saveArtifacts('features mention closed', [bob2]);
      throw err;
    } finally {
      await bob2.page.close();
    }
  });

  test('a private chat with unread messages is listed with its badges, also after a reload', ['mention', 'counts'], async () => {
    await showChat(bob, OTHER); // Bob's first tab looks elsewhere: he reads nothing there
    const bobId = await userIdOf(bob);
    await alice.page.locator('[data-testid=user-item]').filter({ hasText: 'Bob' }).locator('a').click();
    const ptab = alice.page.locator('[data-testid=chat-tab] .fa-user-lock');
    await ptab.waitFor();
    const pid = await alice.page.locator('[data-testid=chat-tab]').filter({ has: alice.page.locator('.fa-user-lock') }).getAttribute('data-chat-id');
    await tab(bob, 'Alice &').waitFor(); // the private chat opened in Bob's first tab, not in front
    await showChat(bob, OTHER);
    const bob2 = await secondTab(bob);
    try {
      const item = bob2.page.locator(`[data-testid=private-item][data-chat-id="${pid}"]`);
      await item.waitFor();
      assert.equal(await item.locator('.chatr-chat-name').textContent(), 'Alice');
      // The notice "Alice wants to chat" is no unread message, here or on the server.
      assert.equal(await item.locator('[data-testid=list-unread]').count(), 0);
      const word = unique('psst');
      await alice.page.evaluate(async ({ pid, bobId, word }) => {
        const a = await import('/js/actions.js');
        await a.sendMessage(pid, `just us ${word}`);
        await a.sendMessage(pid, `<@${bobId}> ${word} for you`, [bobId]);
      }, { pid, bobId, word });
      // Live: the mention reaches the tab without the chat.
      await toast(bob2, /Alice mentioned you in a private chat/).waitFor();
      await item.locator('[data-testid=list-mention-badge]', { hasText: '@1' }).waitFor();
      // After a reload the counts are the server's: both lines, one mention.
      await bob2.page.reload();
      await item.locator('[data-testid=list-unread]', { hasText: exactly('2') }).waitFor();
      await item.locator('[data-testid=list-mention-badge]', { hasText: '@1' }).waitFor();
      const entry = await chatEntry(bob2, pid);
      assert.deepEqual([entry.unread, entry.mentions], [2, 1]);
      // A click opens it; its badges go.
      await item.locator('a').click();
      await bob2.page.locator(`[data-testid=chat-tab][data-chat-id="${pid}"]`).and(bob2.page.locator('.is-active')).waitFor();
      await byText(bob2, new RegExp(`just us ${word}`)).waitFor();
      await item.locator('[data-testid=list-unread]').waitFor({ state: 'detached' });
    } catch (err) {
      await h.saveArtifacts('features private list', [bob2]);
      throw err;
    } finally {
      await bob2.page.close();
    }
  });

  test('markup in a message, a file name and a mention stays text', [], async () => {
    await showChat(alice);
    await showChat(bob);
    // A forged mention token whose "user id" is an attribute injection: shown as its id, as text.
    const forged = 'x"onmouseover=alert(2)';
    await send(alice, `${XSS} <@${forged}>`);
    const msg = bob.page.locator('[data-testid=message]').filter({ has: bob.page.locator('[data-testid=mention]') }).last();
    await msg.locator('[data-testid=mention]', { hasText: exactly(`@${forged}`) }).waitFor();
    assert.equal(await msg.locator('[data-testid=text]').textContent(), `${XSS} @${forged}`);
    if (!missing.files) {
      await alice.page.locator('[data-testid=file-input]').setInputFiles({ name: `${XSS}.txt`, mimeType: 'text/plain', buffer: Buffer.from('just text\n') });
      const link = bob.page.locator('[data-testid=download]').filter({ hasText: 'onerror' }).last();
      await link.waitFor();
      assert.match(await link.locator('[data-testid=file-name]').textContent(), /onerror/);
    }
    // Whatever was written, no element came of it.
    assert.equal(await bob.page.locator('[data-testid=messages] img:not([data-testid=thumbnail])').count(), 0);
    await bob.page.waitForTimeout(300);
    noDialogs();
  });
});
