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

// A chat message, client to client, as the original app sends it.
export const chatMessage = (chatId, me, message) => ({
  type: 'sendToGroup',
  group: chatId,
  dataType: 'json',
  data: { message, fromUserId: me.userId, fromUserName: me.userName },
});

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
const STRING_ENCODED = new Set(['chatCreated', 'userOnline', 'joinPrivateChat', 'chatTopic']);

// Turns a received frame (or a stored envelope from the history API, which has the same shape)
// into one of:
//   {kind: 'server', chatEvent, data}                          a chatEvent from the server
//   {kind: 'message', group, fromUserId, text, id, time}       a chat message from a user
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
  if (typeof data === 'string') return { kind: 'notice', group, text: data, ...stored };
  if (!data || typeof data !== 'object') return null;
  if (typeof data.message === 'string') {
    if (fromUserId) return { kind: 'message', group, fromUserId, text: data.message, ...stored };
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

// The hub's "2026-11-25T10:39:22.123Z" as ms since the epoch; null when absent or unreadable.
function timeOf(text) {
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
