// connection.js: Chatr's one socket to the hub. Opens it with a fresh token each time, and on
// every open says userConnected, refreshes the lists, rejoins the open chats and brings their
// history up to date (the newest page the first time, what was missed after a reconnect); after
// a reconnect it says so (and the messages held are read again: edits, deletions, reactions made
// meanwhile). The chat list also brings each chat's members (for @mentions), the user's private
// chats (listed whether their tab is open or not) and the unread counts.
// Everything that sends goes through send() here.
import { PubSubSocket } from './socket.js';
import * as api from './api.js';
import * as frames from './frames.js';
import * as history from './history.js';
import { state, closeTab, rememberName } from './store.js';
import { toast } from './notify.js';
import { applyCounts } from './readstate.js';

let socket = null;
let openHooks = [];

export function connect(onFrame) {
  socket = new PubSubSocket({
    getUrl: async () => (await api.getToken(state.me.userId)).url,
    onMessage: onFrame,
    onStatus: (status) => {
      state.connection = status;
    },
    onOpen: (reconnected) => opened(reconnected),
    onFatal: () => {
      location.href = api.LOGIN_PAGE; // the session is gone: sign in again
    },
  });
  socket.start();
}

// Run fn(reconnected) after each successful open (after the rejoin).
export function onOpened(fn) {
  openHooks.push(fn);
}

export function send(frame) {
  if (!socket) return Promise.reject(new Error('not connected'));
  return socket.send(frame);
}

// Sends and reports a failure as an error toast; resolves to true on success.
export async function sendOrToast(frame, what) {
  try {
    await send(frame);
    return true;
  } catch (err) {
    toast(`${what}: ${err.message}`, 'danger');
    return false;
  }
}

async function opened(reconnected) {
  // Where each chat's history stood when the old socket went away (before anything arrives on
  // this one).
  const since = new Map(state.tabs.map((t) => [t.id, history.mark(t.id)]));
  await sendOrToast(frames.userConnected(state.me), 'Could not announce you online');
  await refreshLists();
  for (const tab of [...state.tabs]) {
    try {
      await send(frames.joinChat(tab.id));
      history.sync(tab.id, since.get(tab.id) ?? null);
    } catch (err) {
      if (/40[34]/.test(err.message)) {
        closeTab(tab.id);
        toast(`Chat "${tab.name}" is no longer available`, 'warning');
      } else {
        toast(`Could not rejoin "${tab.name}": ${err.message}`, 'danger');
      }
    }
  }
  if (reconnected) toast('Reconnected', 'success');
  for (const fn of openHooks) fn(reconnected);
}

export async function refreshLists() {
  try {
    const [users, chats] = await Promise.all([api.getUsers(), api.getChats()]);
    for (const u of Object.values(users)) rememberName(u.userId, u.userName);
    for (const c of Object.values(chats))
      for (const m of Object.values(c.members || {})) rememberName(m.userId, m.userName);
    state.users = users;
    state.chats = Object.fromEntries(Object.entries(chats).filter(([, c]) => !isPrivate(c)));
    state.privates = privatesOf(chats);
    state.topics = Object.fromEntries(Object.entries(chats).map(([id, c]) => [id, typeof c.topic === 'string' ? c.topic : '']));
    state.members = membersOf(chats);
    applyCounts(chats);
  } catch (err) {
    toast(`Could not load users and chats: ${err.message}`, 'danger');
  }
}

// The private chats listed (the server lists only the caller's own): chatId -> {id, name,
// withUserId: the other member, null when they left}.
function privatesOf(chats) {
  const out = {};
  for (const c of Object.values(chats)) {
    if (!isPrivate(c) || typeof c.id !== 'string' || typeof c.name !== 'string') continue;
    const other = Object.values(c.members || {}).find((m) => typeof m?.userId === 'string' && m.userId !== state.me.userId);
    out[c.id] = { id: c.id, name: c.name, withUserId: other ? other.userId : null };
  }
  return out;
}

// chatId -> {userId: userName} for every chat listed.
function membersOf(chats) {
  const out = {};
  for (const [id, c] of Object.entries(chats)) {
    out[id] = {};
    for (const m of Object.values(c.members || {}))
      if (typeof m?.userId === 'string') out[id][m.userId] = typeof m.userName === 'string' ? m.userName : m.userId;
  }
  return out;
}

// The chat's members again (someone joined since): at most once per MEMBERS_FRESH_MS.
const MEMBERS_FRESH_MS = 10000;
let membersAt = 0;
export async function refreshMembers() {
  if (Date.now() - membersAt < MEMBERS_FRESH_MS) return;
  membersAt = Date.now();
  try {
    state.members = membersOf(await api.getChats());
  } catch {
    // the list from the last refresh stays
  }
}

export const isPrivate = (chat) => chat.private === true || String(chat.id).startsWith('private_');
