// typing.js: the typing indicator. Outgoing: at most one "typing" frame per chat every
// SEND_EVERY_MS while the user types. Incoming: who is typing where, forgotten SHOW_MS after
// their last frame (or at once when they send the message or say they stopped).
import { state, nameOf } from './store.js';

const SEND_EVERY_MS = 2000;
const SHOW_MS = 4000;
const lastSent = {}; // chatId -> ms

// Called on each keystroke in the message box; send(chatId, isTyping) puts the frame on the wire.
export function typed(chatId, send) {
  const now = Date.now();
  if (now - (lastSent[chatId] || 0) < SEND_EVERY_MS) return;
  lastSent[chatId] = now;
  send(chatId, true);
}

// Called when the user sent the message (or cleared the box).
export function stoppedTyping(chatId, send) {
  if (!lastSent[chatId]) return;
  delete lastSent[chatId];
  send(chatId, false);
}

export function setTyping(chatId, userId, on) {
  if (!state.typing[chatId]) state.typing[chatId] = {};
  const map = state.typing[chatId]; // read back: the reactive proxy
  if (on) map[userId] = Date.now() + SHOW_MS;
  else delete map[userId];
}

// Names of the users typing in a chat now (never this user).
export function typers(chatId) {
  const map = state.typing[chatId] || {};
  const now = Date.now();
  return Object.entries(map)
    .filter(([id, until]) => until > now && id !== state.me?.userId)
    .map(([id]) => nameOf(id));
}

export function typingText(chatId) {
  const names = typers(chatId);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

// Drops expired entries so the indicator disappears on its own.
export function startTypingSweeper() {
  setInterval(() => {
    const now = Date.now();
    for (const map of Object.values(state.typing))
      for (const [id, until] of Object.entries(map)) if (until <= now) delete map[id];
  }, 1000);
}
