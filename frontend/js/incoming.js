// incoming.js: what to do with each frame from the hub: server chatEvents
// (docs/protocols.md#events, plus chatTopic), chat messages (users' and the bot's), group notices
// and typing frames; issue 16's live changes (messageEdited, messageDeleted, reaction, readState)
// and mentions of this user (docs/chat-features.md#in-the-web-app).
import { decode, messageIdOf, mentionsOf, timeOf, emojiOk, isUserId, REACTION_KINDS_MAX, REACTORS_SHOWN_MAX } from './frames.js';
import { state, nameOf, senderOf, rememberName, findTab, openTab, closeTab, addEntry, activate, updateEntry, findEntry,
  mentionsMe, readsOf, noteMention } from './store.js';
import { readStateEvent } from './readstate.js';
import { tombstone, ownLine, openMessage } from './actions.js';
import { segments } from './mentions.js';
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
  if (isMe(m.fromUserId)) ownLine(group, entry); // its id: the server can tell those it mentions
  const unseen = addEntry(group, entry);
  if (!unseen || isMe(m.fromUserId)) return;
  // A line that mentions me is announced by the server's `mentioned` notice, which reaches every
  // tab, whether the chat is open there or not; so it is not announced here a second time.
  if (document.hidden && !mentionsMe(entry)) {
    browserNotify(`${senderOf(entry)} in ${findTab(group)?.name || 'Chatr'}`, plainText(m.text), () => activate(group));
  }
}

const NAME_MAX = 256;
const TEXT_SHOWN_MAX = 120; // characters of a mentioning line in its toast

// A message's text as a notification shows it: mentions as @Name.
const plainText = (text) => segments(text).map((s) => (s.mention ? `@${nameOf(s.mention)}` : s.text)).join('');

// The held message a live change is about, or undefined: {chatId, messageId} checked.
function target(d) {
  if (!d || typeof d.chatId !== 'string') return undefined;
  const id = messageIdOf(d.messageId);
  return id === null ? undefined : findEntry(d.chatId, id);
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
    delete state.reads[chatId];
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
    if (typeof chat?.id !== 'string' || typeof chat.name !== 'string') return;
    state.privates[chat.id] ||= { id: chat.id, name: chat.name, withUserId: null };
    const existed = !!findTab(chat.id);
    openTab(chat.id, chat.name, { focus: !!chat.grabFocus, isPrivate: true });
    if (!existed) history.sync(chat.id);
    if (chat.grabFocus || existed) return;
    toast(`Private chat: ${chat.name}`, 'info', 8000);
    browserNotify('Chatr: private chat', chat.name, () => activate(chat.id));
  },

  messageEdited(d) {
    const e = target(d);
    if (!e || e.deleted || typeof d.text !== 'string') return;
    e.text = d.text;
    e.mentions = mentionsOf(d.mentions);
    e.editedTime = timeOf(d.editedTime) ?? Date.now();
  },

  messageDeleted(d) {
    const e = target(d);
    if (e) updateEntry(d.chatId, e.id, { ...tombstone, editedTime: null });
  },

  // {chatId, messageId, emoji, userId, on, count}: one user's reaction, and the new count.
  reaction(d) {
    const e = target(d);
    if (!e || e.deleted || !emojiOk(d.emoji) || typeof d.userId !== 'string') return;
    const list = e.reactions ? [...e.reactions] : [];
    let i = list.findIndex((r) => r.emoji === d.emoji);
    if (i < 0) {
      if (!d.on || list.length >= REACTION_KINDS_MAX) return;
      list.push({ emoji: d.emoji, count: 0, userIds: [], me: false });
      i = list.length - 1;
    }
    const r = { ...list[i], userIds: list[i].userIds.filter((u) => u !== d.userId) };
    if (d.on && r.userIds.length < REACTORS_SHOWN_MAX) r.userIds.push(d.userId);
    if (isMe(d.userId)) r.me = !!d.on;
    r.count = Number.isSafeInteger(d.count) && d.count >= 0 ? d.count : Math.max(0, r.count + (d.on ? 1 : -1));
    if (r.count === 0) list.splice(i, 1);
    else list[i] = r;
    e.reactions = list;
  },

  readState(d) {
    readStateEvent(d);
  },

  // {chatId, chatName, messageId, fromUserId, fromUserName, text}: someone mentioned me. The
  // server sends it to all my sockets once per message, whether the chat is open here or not
  // (docs/chat-features.md#mentions): a toast and a browser notification that open the chat at
  // that message, and the mention badge.
  mentioned(d) {
    if (!d || typeof d.chatId !== 'string' || !d.chatId) return;
    const id = messageIdOf(d.messageId);
    if (id === null || !isUserId(d.fromUserId) || isMe(d.fromUserId)) return;
    if (typeof d.fromUserName === 'string') rememberName(d.fromUserId, d.fromUserName.slice(0, NAME_MAX));
    const priv = isPrivate({ id: d.chatId });
    const chatName = (typeof d.chatName === 'string' && d.chatName) || findTab(d.chatId)?.name || 'a chat';
    if (priv) state.privates[d.chatId] ||= { id: d.chatId, name: chatName, withUserId: d.fromUserId };
    if (state.active === d.chatId && !document.hidden) return; // it is in front of me
    // Its line, when held here, was counted as it came; a line read already does not count.
    const r = readsOf(d.chatId);
    if (!findEntry(d.chatId, id) && (r.lastReadId === null || id > r.lastReadId)) {
      r.unread++;
      r.mentions++;
      noteMention(d.chatId, id);
    }
    const who = nameOf(d.fromUserId);
    const where = priv ? 'a private chat' : chatName;
    const body = plainText(typeof d.text === 'string' ? d.text : '');
    const open = () => openMessage(d.chatId, chatName, id);
    toast(`${who} mentioned you in ${where}: ${body.slice(0, TEXT_SHOWN_MAX)}`, 'link', 8000, open);
    browserNotify(`${who} mentioned you in ${where}`, body, open);
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
