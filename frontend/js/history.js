// history.js: a chat's stored messages (GET /api/chats/{id}/messages, pages listed newest first).
// The newest page when a chat is opened, older pages when asked (scrolling up), and after a
// reconnect every page after the last id held, so nothing sent meanwhile is missed; the store
// holds each id once, so nothing is shown twice. Without a history endpoint (or when it fails)
// the chat simply shows live messages. After a reconnect the messages held are read again
// too, so edits, deletions and reactions made meanwhile show; a search hit opens the page
// around its message (docs/chat-features.md#in-the-web-app).
import * as api from './api.js';
import { decode } from './frames.js';
import { state, findTab, addEntry, findEntry, lowestId, highestId, clearMessages } from './store.js';

const PAGE = 50;               // newest page, older pages
const CATCH_UP_PAGE = 200;     // the history API's largest page
const CATCH_UP_PAGES_MAX = 10; // more missed than this: start again from the newest page
const REREAD_PAGES_MAX = 5;    // messages held read again after a reconnect: at most 1,000
const AROUND_AFTER_PAGES_MAX = 4; // after a search hit's page, newer pages up to the newest
const SEEK_PAGES_MAX = 20;     // without ?around, older pages read to reach a search hit

const queues = new Map(); // chatId -> the promise of the last load (loads of a chat run in turn)

// The chat's history status, shown by the chat view: newest page loaded, oldest message held,
// a load running, the endpoint failing.
function status(chatId) {
  if (!state.history[chatId]) state.history[chatId] = { loaded: false, start: false, loading: false, unavailable: false };
  return state.history[chatId]; // the reactive proxy (what `||=` would give back is the plain object)
}

// Runs fn after the chat's earlier loads; skipped when the chat was closed meanwhile.
function inTurn(chatId, fn) {
  const run = async () => {
    if (!findTab(chatId)) return 0;
    const h = status(chatId);
    h.loading = true;
    try {
      return await fn(h);
    } catch (err) {
      h.unavailable = true;
      console.warn(`chat history of ${chatId}: ${err.message}`);
      return 0;
    } finally {
      h.loading = false;
      if (queues.get(chatId) === p) queues.delete(chatId);
    }
  };
  const p = (queues.get(chatId) || Promise.resolve()).then(run);
  queues.set(chatId, p);
  return p;
}

// Adds a page's messages and notices (oldest first); returns how many were new.
function merge(chatId, envelopes, { countUnread, refresh = false }) {
  const list = () => state.messages[chatId] || [];
  const before = list().length;
  for (let i = envelopes.length - 1; i >= 0; i--) {
    const m = decode(envelopes[i]);
    if (!m || (m.kind !== 'message' && m.kind !== 'notice') || m.group !== chatId || m.id === null) continue;
    const { group, ...entry } = m;
    addEntry(chatId, entry, { countUnread, refresh });
  }
  return list().length - before;
}

const highestOf = (envelopes) =>
  envelopes.reduce((top, e) => (Number.isSafeInteger(e?.id) && e.id > top ? e.id : top), -1);

async function latest(chatId, h) {
  const page = await api.getMessages(chatId, { limit: PAGE });
  const added = merge(chatId, page.value, { countUnread: false });
  h.loaded = true;
  h.start = !page.more;
  h.unavailable = false;
  return added;
}

// The newest page of a chat just opened or joined.
export function loadLatest(chatId) {
  return inTurn(chatId, (h) => latest(chatId, h));
}

// The page before the oldest message held; resolves to the number of messages added.
export function loadOlder(chatId) {
  return inTurn(chatId, async (h) => {
    if (!h.loaded) return latest(chatId, h);
    const oldest = lowestId(chatId);
    if (h.start) return 0;
    const page = await api.getMessages(chatId, oldest === null ? { limit: PAGE } : { before: oldest, limit: PAGE });
    const added = merge(chatId, page.value, { countUnread: false });
    h.start = !page.more;
    return added;
  });
}

// Everything after message id `after`, page by page (each page holds the oldest ones first in
// line); what arrives in a chat not in view counts as unread.
function catchUp(chatId, after) {
  return inTurn(chatId, async (h) => {
    let added = 0;
    for (let n = 0; n < CATCH_UP_PAGES_MAX; n++) {
      const page = await api.getMessages(chatId, { after, limit: CATCH_UP_PAGE });
      // Counted here only when the server does not count unread messages itself.
      added += merge(chatId, page.value, { countUnread: !state.serverCounts });
      const top = highestOf(page.value);
      if (!page.more || top <= after) return added;
      after = top;
    }
    // Too much was missed to be worth reading in: show the newest page, older ones on request.
    clearMessages(chatId);
    h.start = false;
    return latest(chatId, h);
  });
}

// Where a chat's history stands before its socket (re)joins: the id to catch up from, or null
// when its newest page was never loaded. Taken before rejoining, so live messages that arrive
// on the new socket (with higher ids) cannot hide the gap.
export function mark(chatId) {
  const h = state.history[chatId];
  if (!h?.loaded) return null;
  return highestId(chatId) ?? 0;
}

// After a chat was (re)joined: its newest page the first time, otherwise all it missed since
// `since` (from mark()).
export function sync(chatId, since = null) {
  if (since === null) return loadLatest(chatId);
  const low = lowestId(chatId);
  const caught = catchUp(chatId, since);
  if (low !== null && low <= since) reread(chatId, low, since);
  return caught;
}

// Reads the held messages from id low to high again (their current state: edited, deleted,
// reactions), page by page.
function reread(chatId, low, high) {
  return inTurn(chatId, async () => {
    let after = low - 1;
    for (let n = 0; n < REREAD_PAGES_MAX && after < high; n++) {
      const page = await api.getMessages(chatId, { after, limit: CATCH_UP_PAGE });
      merge(chatId, page.value, { countUnread: false, refresh: true });
      const top = highestOf(page.value);
      if (!page.more || top <= after) break;
      after = top;
    }
    return 0;
  });
}

// Shows message `id` of an open chat (a search hit): when it is not held, the page around it
// (GET ?around=<id>) replaces what is held, followed by the newer pages; then the chat view
// scrolls to it and flashes it (state.flash). Resolves to true when the message is held.
let flashSeq = 0;
export async function showMessage(chatId, id) {
  await inTurn(chatId, async (h) => {
    if (findEntry(chatId, id)) return 0;
    try {
      const page = await api.getMessages(chatId, { around: id });
      clearMessages(chatId);
      merge(chatId, page.value, { countUnread: false });
      h.loaded = true;
      h.start = false; // "Load older" finds out
      let after = highestId(chatId) ?? id;
      for (let n = 0; n < AROUND_AFTER_PAGES_MAX; n++) {
        const next = await api.getMessages(chatId, { after, limit: CATCH_UP_PAGE });
        merge(chatId, next.value, { countUnread: false });
        const top = highestOf(next.value);
        if (!next.more || top <= after) break;
        after = top;
      }
    } catch (err) {
      console.warn(`history around ${id}: ${err.message}`);
    }
    // A server without ?around (it answers the newest page): older pages until it is held.
    for (let n = 0; n < SEEK_PAGES_MAX && !findEntry(chatId, id) && !h.start; n++) {
      const oldest = lowestId(chatId);
      const page = await api.getMessages(chatId, oldest === null ? { limit: CATCH_UP_PAGE } : { before: oldest, limit: CATCH_UP_PAGE });
      merge(chatId, page.value, { countUnread: false });
      h.loaded = true;
      h.start = !page.more;
    }
    return 0;
  });
  const held = !!findEntry(chatId, id);
  if (held) state.flash = { chatId, id, seq: ++flashSeq };
  return held;
}
