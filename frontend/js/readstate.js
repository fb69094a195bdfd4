// readstate.js: where the user stopped reading, per chat (docs/chat-features.md#in-the-web-app).
// The newest message seen while the chat is shown and the window focused is sent as `markRead`,
// at most once per SEND_EVERY_MS per chat (the last one always goes); the server keeps the
// highest. Unread and mention counts come from GET /api/chats after every (re)connect; a
// `readState` from the server (this user's other tabs and devices) clears the badges here.
import * as frames from './frames.js';
import { send } from './connection.js';
import { state, readsOf, findTab, countHeldAfter, clearUnread } from './store.js';

const SEND_EVERY_MS = 1000;
const COUNT_MAX = 1000; // the server caps its counts there too

const pending = new Map(); // chatId -> {id: the newest seen not yet sent, timer}
let unsupported = false;   // the server refused the event as unknown: stop asking

// The counts of GET /api/chats (`unread`, `mentions`, `lastReadId`, when the server has them).
export function applyCounts(chats) {
  for (const [id, c] of Object.entries(chats)) {
    if (!Number.isSafeInteger(c.unread)) continue;
    state.serverCounts = true;
    const r = readsOf(id);
    r.unread = Math.min(Math.max(c.unread, 0), COUNT_MAX);
    r.mentions = Number.isSafeInteger(c.mentions) ? Math.min(Math.max(c.mentions, 0), COUNT_MAX) : 0;
    const last = frames.messageIdOf(c.lastReadId);
    if (last !== null && (r.lastReadId === null || last > r.lastReadId)) r.lastReadId = last;
    // The chat in front of the user is being read: what it holds is sent as read right away.
    if (state.active === id && !document.hidden) clearUnread(id);
  }
}

// The user has seen message `id` of the chat (it is on screen, the window has focus).
export function seen(chatId, id) {
  if (!Number.isSafeInteger(id)) return;
  const r = readsOf(chatId);
  if (r.lastReadId !== null && id <= r.lastReadId) return;
  r.lastReadId = id;
  if (unsupported) return;
  const p = pending.get(chatId) || { id: null, timer: null, last: 0 };
  p.id = id;
  pending.set(chatId, p);
  if (p.timer) return;
  const wait = Math.max(0, p.last + SEND_EVERY_MS - Date.now());
  p.timer = setTimeout(() => flush(chatId), wait);
}

async function flush(chatId) {
  const p = pending.get(chatId);
  if (!p) return;
  p.timer = null;
  if (p.id === null || !findTab(chatId)) return;
  const id = p.id;
  p.id = null;
  p.last = Date.now();
  try {
    await send(frames.markRead(chatId, id));
  } catch (err) {
    if (/unknown event|no handler/i.test(err.message)) unsupported = true;
    else if (err.name === 'NotConnected' || err.name === 'ConnectionLost') seenAgain(chatId, id);
    console.warn(`markRead ${chatId} ${id}: ${err.message}`);
  }
}

// A markRead lost with the connection goes again after the next seen() or reconnect.
function seenAgain(chatId, id) {
  const r = readsOf(chatId);
  if (r.lastReadId === id) r.lastReadId = id - 1;
}

// A `readState` chatEvent: this user read up to messageId of chatId somewhere.
export function readStateEvent(d) {
  if (!d || typeof d.chatId !== 'string') return;
  const id = frames.messageIdOf(d.messageId);
  if (id === null) return;
  const r = readsOf(d.chatId);
  if (r.lastReadId === null || id > r.lastReadId) r.lastReadId = id;
  // What this tab holds after that id is still unread; a chat not held here is read up to now.
  // (A read state never raises a count.)
  if (state.active === d.chatId && !document.hidden) return clearUnread(d.chatId);
  const left = state.messages[d.chatId]?.length ? countHeldAfter(d.chatId, r.lastReadId) : { unread: 0, mentions: 0 };
  r.unread = Math.min(r.unread, left.unread);
  r.mentions = Math.min(r.mentions, left.mentions);
}
