// incoming.js: what to do with each frame from the hub: server chatEvents
// (docs/protocols.md#events, plus chatTopic), chat messages (users' and the bot's), group notices
// and typing frames.
import { decode } from './frames.js';
import { state, nameOf, senderOf, rememberName, findTab, openTab, closeTab, addEntry, activate } from './store.js';
import * as history from './history.js';
import { toast, browserNotify } from './notify.js';
import { setTyping } from './typing.js';
import { isPrivate } from './connection.js';

export function handleFrame(frame) {
  const m = decode(frame);
  if (!m) return;
  if (m.kind === 'server') return (serverEvents[m.chatEvent] || (() => {}))(m.data);
  if (m.kind === 'message') return chatMessage(m);
  if (m.kind === 'notice') return addEntry(m.group, { kind: 'notice', text: m.text, id: m.id, time: m.time });
  if (m.kind === 'typing') return setTyping(m.group, m.fromUserId, m.typing);
  if (m.kind === 'system' && m.event === 'disconnected' && m.message)
    toast(`Disconnected by the server: ${m.message}`, 'warning');
}

const isMe = (userId) => userId === state.me?.userId;

function chatMessage(m) {
  const { group, ...entry } = m;
  if (m.fromUserId) setTyping(group, m.fromUserId, false);
  const unseen = addEntry(group, entry);
  if (unseen && document.hidden && !isMe(m.fromUserId)) {
    const tab = findTab(group);
    browserNotify(`${senderOf(entry)} in ${tab?.name || 'Chatr'}`, m.text, () => activate(group));
  }
}

const serverEvents = {
  chatCreated(chat) {
    if (!chat?.id || isPrivate(chat)) return;
    state.chats[chat.id] = { members: {}, ...chat };
    const who = isMe(chat.owner) ? 'You' : nameOf(chat.owner);
    toast(`${who} created the chat "${chat.name}"`, 'info');
  },

  chatDeleted(chatId) {
    if (typeof chatId !== 'string') return;
    const name = state.chats[chatId]?.name || findTab(chatId)?.name || 'a chat';
    delete state.chats[chatId];
    if (findTab(chatId)) {
      closeTab(chatId);
      toast(`The chat "${name}" was deleted and closed`, 'warning', 8000);
    } else {
      toast(`The chat "${name}" was deleted`, 'info');
    }
  },

  userOnline(user) {
    if (!user?.userId) return;
    rememberName(user.userId, user.userName);
    const known = !!state.users[user.userId];
    state.users[user.userId] = { idle: false, ...user };
    if (!known && !isMe(user.userId)) toast(`${user.userName} is online`, 'success');
  },

  userOffline(userId) {
    const user = state.users[userId];
    if (!user || isMe(userId)) return;
    delete state.users[userId];
    toast(`${user.userName} went offline`, 'info');
  },

  userIsIdle(userId) {
    idleChanged(userId, true);
  },

  userNotIdle(userId) {
    idleChanged(userId, false);
  },

  joinPrivateChat(chat) {
    if (!chat?.id) return;
    const existed = !!findTab(chat.id);
    openTab(chat.id, chat.name, { focus: !!chat.grabFocus, isPrivate: true });
    if (!existed) history.sync(chat.id);
    if (chat.grabFocus || existed) return;
    toast(`Private chat: ${chat.name}`, 'info', 8000);
    browserNotify('Chatr: private chat', chat.name, () => activate(chat.id));
  },

  // The bot also says who set it, in the chat.
  chatTopic(t) {
    if (!t || typeof t.chatId !== 'string' || typeof t.topic !== 'string') return;
    state.topics[t.chatId] = t.topic;
  },
};

function idleChanged(userId, idle) {
  const user = state.users[userId];
  if (!user || user.idle === idle) return;
  user.idle = idle;
  if (!isMe(userId)) toast(`${user.userName} is ${idle ? 'idle' : 'back'}`, 'info', 3000);
}
