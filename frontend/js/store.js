// store.js: the app's state (one Vue reactive object) and the small mutations on it.
// Components read it; only chatr.js and the modules it calls change it.
import { reactive, computed } from 'vue';

const MESSAGES_KEPT = 1000; // per chat, as new messages arrive (older pages loaded on request add to it)
const TABS_KEY = 'chatr.tabs';

export const state = reactive({
  me: null,          // {userId, userName, userProvider}
  users: {},         // online users: userId -> {userId, userName, userProvider, idle}
  names: {},         // every user id ever seen -> last known name (senders who went offline)
  chats: {},         // visible group chats: chatId -> {id, name, owner, members}
  privates: {},      // the user's private chats: chatId -> {id, name, withUserId} (open or not)
  tabs: [],          // open chats: [{id, name, private}]
  active: null,      // the chat id shown
  messages: {},      // chatId -> [entry] in id order, see addEntry
  history: {},       // chatId -> {loaded, start, loading, unavailable}, see history.js
  topics: {},        // chatId -> the chat's topic ('' for none)
  typing: {},        // chatId -> {userId: expiresAt(ms)}
  connection: 'connecting', // 'connecting' | 'online' | 'offline'
  toasts: [],        // [{id, text, kind}]
  reads: {},         // chatId -> {unread, mentions, lastReadId}: badges and the "new messages" divider
  serverCounts: false, // GET /api/chats gave unread counts (then they, not catch-up, count what was missed)
  members: {},       // chatId -> {userId: userName} of every chat listed (private ones too): mentions
  flash: null,       // {chatId, id, seq}: scroll to that message and flash it (a search hit)
  viewer: null,      // {url, name}: an image shown full size
  sidebarOpen: false, // phone layout: the chat and user lists shown over the chat
});

let keySeq = 0;
const heldIds = new Map(); // chatId -> Set of the message ids held (not reactive: bookkeeping)

// The unread messages of every chat the user is in, open here or not (the badges the page shows).
export const totalUnread = computed(() => Object.values(state.reads).reduce((n, r) => n + (r.unread || 0), 0));

// Mentions counted from a `mentioned` notice before their line was held here ("chatId:id"): the
// line, when it comes, does not count again. Bounded: the oldest go first.
const NOTED_MAX = 500;
const noted = new Set();
export function noteMention(chatId, id) {
  noted.add(`${chatId}:${id}`);
  if (noted.size > NOTED_MAX) noted.delete(noted.values().next().value);
}

// A chat's read state, made when first needed.
export function readsOf(chatId) {
  if (!state.reads[chatId]) state.reads[chatId] = { unread: 0, mentions: 0, lastReadId: null };
  return state.reads[chatId];
}
export const unreadOf = (chatId) => state.reads[chatId]?.unread || 0;
export const mentionsOfChat = (chatId) => state.reads[chatId]?.mentions || 0;

// The chat is in front of the user: its badges go.
export function clearUnread(chatId) {
  const r = state.reads[chatId];
  if (r) {
    r.unread = 0;
    r.mentions = 0;
  }
}

export function nameOf(userId) {
  if (state.me && userId === state.me.userId) return state.me.userName;
  return state.users[userId]?.userName || state.names[userId] || `user ${String(userId).slice(0, 6)}`;
}

// Who a held message is from, as shown: the bot's messages carry no user id of a sender.
export const BOT_NAME = 'Chatr Bot';
export function senderOf(entry) {
  return entry.bot ? BOT_NAME : nameOf(entry.fromUserId);
}

// Who did a /me action (the server names the user who ran the command).
export function actorOf(entry) {
  return entry.actorName || (entry.actorId ? nameOf(entry.actorId) : 'someone');
}

export function rememberName(userId, name) {
  if (userId && typeof name === 'string' && name) state.names[userId] = name;
}

export function findTab(chatId) {
  return state.tabs.find((t) => t.id === chatId);
}

export function openTab(chatId, name, { focus = true, isPrivate = String(chatId).startsWith('private_') } = {}) {
  let tab = findTab(chatId);
  if (!tab) {
    tab = { id: chatId, name, private: isPrivate };
    state.tabs.push(tab);
    state.messages[chatId] ||= [];
  } else if (name) {
    tab.name = name;
  }
  if (focus || !state.active) activate(chatId);
  saveTabs();
  return tab;
}

export function closeTab(chatId) {
  const i = state.tabs.findIndex((t) => t.id === chatId);
  if (i < 0) return;
  state.tabs.splice(i, 1);
  delete state.messages[chatId];
  delete state.history[chatId];
  heldIds.delete(chatId);
  delete state.typing[chatId];
  clearUnread(chatId);
  if (state.active === chatId) state.active = state.tabs[Math.max(0, i - 1)]?.id || null;
  saveTabs();
}

export function activate(chatId) {
  state.active = chatId;
  if (findTab(chatId) && !document.hidden) clearUnread(chatId);
  saveTabs();
}

// Adds a message or notice to an open chat. entry: {kind: 'message'|'notice', id, time, text,
// fromUserId, bot, action, actorId, actorName}. Entries with a hub id are held once each and in id
// order; entries without one (not stored, or local notices) go to the end as they come.
// Returns true when the entry was added and is unseen (another chat is shown or the page is
// hidden); unseen messages from others count as unread unless countUnread is false.
// With refresh, an entry already held takes the entry's current state (an edit, a deletion,
// reactions: a history page read again after a reconnect).
export function addEntry(chatId, entry, { countUnread = true, refresh = false } = {}) {
  const tab = findTab(chatId);
  if (!tab) return false;
  if (!state.messages[chatId]) state.messages[chatId] = [];
  const list = state.messages[chatId]; // read back: the reactive proxy
  const id = Number.isSafeInteger(entry.id) ? entry.id : null;
  let at = list.length;
  if (id !== null) {
    const ids = heldIds.get(chatId) || heldIds.set(chatId, new Set()).get(chatId);
    if (ids.has(id)) {
      if (refresh) refreshEntry(chatId, id, entry);
      return false;
    }
    ids.add(id);
    // Before the first held message with a higher id; from the end, so a live message is O(1).
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].id === null) continue;
      if (list[i].id < id) break;
      at = i;
    }
  }
  const key = id !== null ? `m${id}` : `l${++keySeq}`;
  list.splice(at, 0, { ...entry, key, id, time: entry.time ?? Date.now() });
  if (at === list.length - 1 && list.length > MESSAGES_KEPT) dropOldest(chatId, list.length - MESSAGES_KEPT);
  const unseen = state.active !== chatId || document.hidden;
  const mine = !!entry.fromUserId && entry.fromUserId === state.me?.userId;
  const counted = id !== null && noted.has(`${chatId}:${id}`);
  if (countUnread && unseen && entry.kind === 'message' && !mine && !entry.deleted && !counted) {
    const r = readsOf(chatId);
    r.unread++;
    if (mentionsMe(entry)) r.mentions++;
  }
  return unseen;
}

export const mentionsMe = (entry) => !!state.me && Array.isArray(entry.mentions) && entry.mentions.includes(state.me.userId);

// The held entry with this hub id, or undefined.
export function findEntry(chatId, id) {
  if (!heldIds.get(chatId)?.has(id)) return undefined;
  const list = state.messages[chatId] || [];
  for (let i = list.length - 1; i >= 0; i--) if (list[i].id === id) return list[i];
  return undefined;
}

// The fields of a message that change after it was sent.
const MUTABLE = ['text', 'mentions', 'file', 'editedTime', 'deleted', 'reactions'];

function refreshEntry(chatId, id, entry) {
  const held = findEntry(chatId, id);
  if (!held || held.kind !== entry.kind) return;
  for (const k of MUTABLE) if (entry[k] !== undefined) held[k] = entry[k];
}

// Changes a held message (a live edit, deletion or reaction); returns it, or undefined.
export function updateEntry(chatId, id, patch) {
  const held = findEntry(chatId, id);
  if (held) Object.assign(held, patch);
  return held;
}

// Unread messages held after lastReadId (a read state from another tab): {unread, mentions}.
export function countHeldAfter(chatId, lastReadId) {
  let unread = 0, mentions = 0;
  for (const e of state.messages[chatId] || []) {
    if (e.kind !== 'message' || e.id === null || e.id <= lastReadId || e.deleted) continue;
    if (e.fromUserId && e.fromUserId === state.me?.userId) continue;
    unread++;
    if (mentionsMe(e)) mentions++;
  }
  return { unread, mentions };
}

function dropOldest(chatId, n) {
  const gone = state.messages[chatId].splice(0, n);
  const ids = heldIds.get(chatId);
  for (const e of gone) if (e.id !== null) ids?.delete(e.id);
  if (state.history[chatId]) state.history[chatId].start = false;
}

// Forgets every message held for a chat (its tab stays).
export function clearMessages(chatId) {
  if (state.messages[chatId]) state.messages[chatId] = [];
  heldIds.delete(chatId);
}

// The lowest and highest hub ids held for a chat (null when none).
export function lowestId(chatId) {
  const list = state.messages[chatId] || [];
  for (const e of list) if (e.id !== null) return e.id;
  return null;
}

export function highestId(chatId) {
  const list = state.messages[chatId] || [];
  for (let i = list.length - 1; i >= 0; i--) if (list[i].id !== null) return list[i].id;
  return null;
}

// Open tabs survive a reload of the page (same browser tab), not a new session.
function saveTabs() {
  const keep = state.tabs.map(({ id, name, private: p }) => ({ id, name, private: p }));
  sessionStorage.setItem(TABS_KEY, JSON.stringify({ tabs: keep, active: state.active }));
}

export function savedTabs() {
  try {
    return JSON.parse(sessionStorage.getItem(TABS_KEY)) || { tabs: [] };
  } catch {
    return { tabs: [] };
  }
}
