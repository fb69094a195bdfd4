// store.js: the app's state (one Vue reactive object) and the small mutations on it.
// Components read it; only chatr.js and the modules it calls change it.
import { reactive, computed } from 'vue';

const MESSAGES_KEPT = 500; // per chat
const TABS_KEY = 'chatr.tabs';

export const state = reactive({
  me: null,          // {userId, userName, userProvider}
  users: {},         // online users: userId -> {userId, userName, userProvider, idle}
  names: {},         // every user id ever seen -> last known name (senders who went offline)
  chats: {},         // visible group chats: chatId -> {id, name, owner, members}
  tabs: [],          // open chats: [{id, name, unread, private}]
  active: null,      // the chat id shown
  messages: {},      // chatId -> [{key, kind: 'message'|'notice', fromUserId, text, time}]
  typing: {},        // chatId -> {userId: expiresAt(ms)}
  connection: 'connecting', // 'connecting' | 'online' | 'offline'
  toasts: [],        // [{id, text, kind}]
  sidebarOpen: false, // phone layout: the chat and user lists shown over the chat
});

let keySeq = 0;

export const totalUnread = computed(() => state.tabs.reduce((n, t) => n + t.unread, 0));

export function nameOf(userId) {
  if (state.me && userId === state.me.userId) return state.me.userName;
  return state.users[userId]?.userName || state.names[userId] || `user ${String(userId).slice(0, 6)}`;
}

export function rememberName(userId, name) {
  if (userId && typeof name === 'string' && name) state.names[userId] = name;
}

export function findTab(chatId) {
  return state.tabs.find((t) => t.id === chatId);
}

export function openTab(chatId, name, { focus = true, isPrivate = false } = {}) {
  let tab = findTab(chatId);
  if (!tab) {
    tab = { id: chatId, name, unread: 0, private: isPrivate };
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
  delete state.typing[chatId];
  if (state.active === chatId) state.active = state.tabs[Math.max(0, i - 1)]?.id || null;
  saveTabs();
}

export function activate(chatId) {
  state.active = chatId;
  const tab = findTab(chatId);
  if (tab && !document.hidden) tab.unread = 0;
  saveTabs();
}

// Adds a message or notice to an open chat; returns true when it counts as unread.
export function addEntry(chatId, entry) {
  const tab = findTab(chatId);
  if (!tab) return false;
  const list = (state.messages[chatId] ||= []);
  list.push({ key: ++keySeq, time: Date.now(), ...entry });
  if (list.length > MESSAGES_KEPT) list.splice(0, list.length - MESSAGES_KEPT);
  const unseen = state.active !== chatId || document.hidden;
  if (unseen && entry.kind === 'message') tab.unread++;
  return unseen;
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
