// frames.js: the Chatr wire contract (CHATR-CONTRACT.md) as frames to send and a decoder for
// what arrives. Pure functions: no state, no I/O.

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

// A chat message, client to client, as the original app sends it.
export const chatMessage = (chatId, me, message) => ({
  type: 'sendToGroup',
  group: chatId,
  dataType: 'json',
  data: { message, fromUserId: me.userId, fromUserName: me.userName },
});

// "I am typing": not echoed to this socket, not stored by the hub (DESIGN §5).
export const typing = (chatId, me, isTyping) => ({
  type: 'sendToGroup',
  group: chatId,
  dataType: 'json',
  noEcho: true,
  persist: false,
  data: { typing: isTyping, fromUserId: me.userId },
});

// The chatEvents whose data is a JSON document encoded as a string.
const STRING_ENCODED = new Set(['chatCreated', 'userOnline', 'joinPrivateChat']);

// Turns a received frame into one of:
//   {kind: 'server', chatEvent, data}                      a chatEvent from the server
//   {kind: 'message', group, fromUserId, text, id}         a chat message
//   {kind: 'notice', group, text}                          a plain-string group notice
//   {kind: 'typing', group, fromUserId, typing}            a typing indicator
//   {kind: 'system', event, ...frame}                      connected / disconnected
//   null                                                   anything else (ignored)
// Senders are taken from the envelope's fromUserId (set by the hub), never from the payload.
export function decode(frame) {
  if (frame.type === 'system') return { kind: 'system', ...frame };
  if (frame.type !== 'message') return null;
  if (frame.from === 'server') return decodeServer(frame.data);
  if (frame.from !== 'group' || typeof frame.group !== 'string') return null;
  const data = frame.data;
  const group = frame.group;
  const fromUserId = typeof frame.fromUserId === 'string' ? frame.fromUserId : null;
  if (typeof data === 'string') return { kind: 'notice', group, text: data };
  if (!data || typeof data !== 'object') return null;
  if (typeof data.message === 'string') {
    if (!fromUserId) return { kind: 'notice', group, text: data.message };
    return { kind: 'message', group, fromUserId, text: data.message, id: frame.id ?? null };
  }
  if (typeof data.typing === 'boolean') {
    return fromUserId ? { kind: 'typing', group, fromUserId, typing: data.typing } : null;
  }
  return null;
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
