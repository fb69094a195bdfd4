// frames.js: the Chatr wire contract (docs/protocols.md#chatrs-own-contract) as frames to send and
// a decoder for what arrives. Pure functions: no state, no I/O.

const event = (name, dataType, data) => ({ type: 'event', event: name, dataType, data });

export const userConnected = (me) =>
  event('userConnected', 'json', { userName: me.userName, userProvider: me.userProvider });
export const createChat = (id, name) => event('createChat', 'json', { name, id });
export const joinChat = (chatId) => event('joinChat', 'text', chatId);
export const leaveChat = (chatId, userName) => event('leaveChat', 'json', { chatId, userName });
export const deleteChat = (chatId) => event('deleteChat', 'text', chatId);
export const createPrivateChat = (initiatorUserId, targetUserId) =>
  event('createPrivateChat', 'json', { initiatorUserId, targetUserId });
export const enterIdle = (userId) => event('userEnterIdle', 'text', userId);
export const exitIdle = (userId) => event('userExitIdle', 'text', userId);
// A slash command ("/roll 2d6"): the eventHandler runs it and its bot answers in the chat.
export const chatCommand = (chatId, text) => event('chatCommand', 'json', { chatId, text });

// A chat message, client to client, as the original app sends it; ours may add `mentions` (the
// user ids written as <@userId> tokens in the text) and `file` (an upload's answer), which the
// original client ignores (docs/chat-features.md#in-the-web-app).
export function chatMessage(chatId, me, message, { mentions, file } = {}) {
  const data = { message, fromUserId: me.userId, fromUserName: me.userName };
  if (mentions && mentions.length) data.mentions = mentions;
  if (file) data.file = file;
  return { type: 'sendToGroup', group: chatId, dataType: 'json', data };
}

// Issue 16's events: the server checks who may do what (author, owner, member).
export const editMessage = (chatId, messageId, text, mentions) =>
  event('editMessage', 'json', { chatId, messageId, text, mentions });
export const deleteMessage = (chatId, messageId) => event('deleteMessage', 'json', { chatId, messageId });
export const react = (chatId, messageId, emoji, on) => event('react', 'json', { chatId, messageId, emoji, on });
export const markRead = (chatId, messageId) => event('markRead', 'json', { chatId, messageId });
// After one's own line with `mentions` is stored: the server tells the members it names
// (`mentioned`), also where the chat is not open (docs/chat-features.md#mentions).
export const mention = (chatId, messageId) => event('mention', 'json', { chatId, messageId });

// "I am typing": not echoed to this socket, not stored in the chat's history.
export const typing = (chatId, me, isTyping) => ({
  type: 'sendToGroup',
  group: chatId,
  dataType: 'json',
  noEcho: true,
  persist: false,
  data: { typing: isTyping, fromUserId: me.userId },
});

// The chatEvents whose data is a JSON document encoded as a string.
const STRING_ENCODED = new Set(['chatCreated', 'userOnline', 'joinPrivateChat', 'chatTopic',
  'messageEdited', 'messageDeleted', 'reaction', 'readState', 'mentioned']);

// Bounds on what a message may carry (anything beyond is dropped, not shown).
export const MENTIONS_MAX = 20;       // user ids in one message's `mentions`
export const REACTION_KINDS_MAX = 20; // emoji kinds on one message
export const REACTORS_SHOWN_MAX = 50; // user ids listed per reaction
const EMOJI_BYTES_MAX = 32;
const USER_ID_MAX = 256;
const FILE_NAME_MAX = 255;
// A shared file's id (docs/files.md): its links are built from it, never taken from the line's
// `url`, which the sender's client wrote and could point anywhere (javascript:, another site).
const FILE_ID = /^[0-9a-f]{32}$/;

// Turns a received frame (or a stored envelope from the history API, which has the same shape)
// into one of:
//   {kind: 'server', chatEvent, data}                          a chatEvent from the server
//   {kind: 'message', group, fromUserId, text, id, time,       a chat message from a user
//    mentions, file, editedTime, deleted, reactions}           (issue 16's fields, checked)
//   {kind: 'message', group, bot: true, text, id, time,        a message from Chatr Bot
//    action, actorId, actorName}                               (action: a /me line)
//   {kind: 'notice', group, text, id, time}                    a group notice
//   {kind: 'typing', group, fromUserId, typing}                a typing indicator
//   {kind: 'system', event, ...frame}                          connected / disconnected
//   null                                                       anything else (ignored)
// id and time are the hub's (stored messages only; otherwise null). Senders are taken from the
// envelope's fromUserId (set by the hub), never from the payload; a message without one comes
// from the server, which is how the bot's messages are told apart.
export function decode(frame) {
  if (!frame || typeof frame !== 'object') return null;
  if (frame.type === 'system') return { kind: 'system', ...frame };
  if (frame.type !== 'message') return null;
  if (frame.from === 'server') return decodeServer(frame.data);
  if (frame.from !== 'group' || typeof frame.group !== 'string') return null;
  const data = frame.data;
  const group = frame.group;
  const fromUserId = typeof frame.fromUserId === 'string' ? frame.fromUserId : null;
  const stored = { id: Number.isSafeInteger(frame.id) ? frame.id : null, time: timeOf(frame.time) };
  // A deleted message (history: data null, deletedTime set) stays as a tombstone.
  if (data === null && typeof frame.deletedTime === 'string') {
    return { kind: 'message', group, fromUserId, bot: !fromUserId, text: '', deleted: true, mentions: [], file: null,
      reactions: [], editedTime: null, ...stored };
  }
  if (typeof data === 'string') return { kind: 'notice', group, text: data, ...stored };
  if (!data || typeof data !== 'object') return null;
  if (typeof data.message === 'string') {
    if (fromUserId) {
      const extra = { mentions: mentionsOf(data.mentions), file: fileOf(data.file), editedTime: timeOf(frame.editedTime), deleted: false };
      if (Array.isArray(frame.reactions)) extra.reactions = reactionsOf(frame.reactions);
      return { kind: 'message', group, fromUserId, text: data.message, ...stored, ...extra };
    }
    if (data.bot === true) {
      return {
        kind: 'message', group, fromUserId: null, bot: true, text: data.message, ...stored,
        action: data.action === true,
        actorId: typeof data.actorId === 'string' ? data.actorId : null,
        actorName: typeof data.actorName === 'string' ? data.actorName : null,
      };
    }
    return { kind: 'notice', group, text: data.message, ...stored };
  }
  if (typeof data.typing === 'boolean') {
    return fromUserId ? { kind: 'typing', group, fromUserId, typing: data.typing } : null;
  }
  return null;
}

export const isUserId = (x) => typeof x === 'string' && x.length > 0 && x.length <= USER_ID_MAX;

// A message's `mentions`: distinct user ids, at most MENTIONS_MAX.
export function mentionsOf(list) {
  if (!Array.isArray(list)) return [];
  return [...new Set(list.filter(isUserId))].slice(0, MENTIONS_MAX);
}

// A message's `file`, or null: {id, url (ours, from the id), name, size, contentType}.
export function fileOf(f) {
  if (!f || typeof f !== 'object' || typeof f.id !== 'string' || !FILE_ID.test(f.id)) return null;
  const name = typeof f.name === 'string' && f.name ? f.name.slice(0, FILE_NAME_MAX) : 'file';
  const size = Number.isSafeInteger(f.size) && f.size >= 0 ? f.size : null;
  const contentType = typeof f.contentType === 'string' ? f.contentType.slice(0, 100).toLowerCase() : '';
  return { id: f.id, url: `/api/files/${f.id}`, name, size, contentType };
}

export const emojiOk = (e) => typeof e === 'string' && e.length > 0 && new TextEncoder().encode(e).length <= EMOJI_BYTES_MAX;

// A message's `reactions` from the history API: [{emoji, count, userIds, me}].
export function reactionsOf(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((r) => r && emojiOk(r.emoji) && Number.isSafeInteger(r.count) && r.count > 0)
    .slice(0, REACTION_KINDS_MAX)
    .map((r) => ({
      emoji: r.emoji,
      count: r.count,
      userIds: Array.isArray(r.userIds) ? r.userIds.filter(isUserId).slice(0, REACTORS_SHOWN_MAX) : [],
      me: r.me === true,
    }));
}

// A messageId as sent by the server (a JSON integer, or a numeric string): a number or null.
export function messageIdOf(x) {
  const n = typeof x === 'string' && /^\d{1,18}$/.test(x) ? Number(x) : x;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

// The hub's "2026-11-25T10:39:22.123Z" as ms since the epoch; null when absent or unreadable.
export function timeOf(text) {
  if (typeof text !== 'string') return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function decodeServer(data) {
  if (!data || typeof data !== 'object' || typeof data.chatEvent !== 'string') return null;
  let payload = data.data;
  if (STRING_ENCODED.has(data.chatEvent) && typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      return null;
    }
  }
  return { kind: 'server', chatEvent: data.chatEvent, data: payload };
}
