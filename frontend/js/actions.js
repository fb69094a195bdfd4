// actions.js: what the user can do, each as one function the components call.
import * as frames from './frames.js';
import { send, sendOrToast } from './connection.js';
import * as history from './history.js';
import { state, openTab, closeTab, findTab, addEntry } from './store.js';
import { typed, stoppedTyping } from './typing.js';
import { toast } from './notify.js';
import { uuid } from './util.js';

export const MESSAGE_MAX = 4000;
export const CHAT_NAME_MAX = 50;

export async function createChat(name) {
  name = name.trim().slice(0, CHAT_NAME_MAX);
  if (!name) return;
  const id = uuid();
  if (await sendOrToast(frames.createChat(id, name), 'Could not create the chat')) {
    await joinChat(id, name);
  }
}

export async function joinChat(chatId, name) {
  if (findTab(chatId)) {
    openTab(chatId, name);
    return;
  }
  openTab(chatId, name);
  if (await sendOrToast(frames.joinChat(chatId), `Could not join "${name}"`)) history.sync(chatId);
  else closeTab(chatId);
}

// Closing a tab leaves the chat.
export async function leaveChat(chatId) {
  closeTab(chatId);
  await sendOrToast(frames.leaveChat(chatId, state.me.userName), 'Could not leave the chat');
}

export async function deleteChat(chatId) {
  await sendOrToast(frames.deleteChat(chatId), 'Could not delete the chat');
}

export async function startPrivateChat(userId) {
  if (userId === state.me.userId) return;
  await sendOrToast(frames.createPrivateChat(state.me.userId, userId), 'Could not start a private chat');
}

// Sends what was typed: a chat message, or a slash command ("/roll 2d6") for the bot; "//text"
// sends "/text" as a message. Resolves to false when it was not sent (the box keeps the text).
export async function sendMessage(chatId, text) {
  text = text.slice(0, MESSAGE_MAX);
  if (!text.trim()) return false;
  const command = text.startsWith('/') && !text.startsWith('//');
  // A message clears the sender's typing indicator where it arrives; a command must say so.
  stoppedTypingIn(chatId, command);
  if (command) return runCommand(chatId, text.trim());
  if (text.startsWith('//')) text = text.slice(1);
  try {
    await send(frames.chatMessage(chatId, state.me, text));
    return true;
  } catch (err) {
    addEntry(chatId, { kind: 'notice', text: `Not sent: ${text.slice(0, 80)} (${err.message})` });
    toast(`Message not sent: ${err.message}`, 'danger');
    return false;
  }
}

async function runCommand(chatId, text) {
  const name = text.split(/\s/, 1)[0];
  try {
    await send(frames.chatCommand(chatId, text));
    return true;
  } catch (err) {
    toast(`${name} failed: ${err.message}`, 'danger');
    return false;
  }
}

// Typing frames are best effort: a lost one is not worth an error.
const sendTyping = (chatId, on) => send(frames.typing(chatId, state.me, on)).catch(() => {});

export function typingIn(chatId) {
  typed(chatId, sendTyping);
}

export function stoppedTypingIn(chatId, tell = true) {
  stoppedTyping(chatId, tell ? sendTyping : () => {});
}

export function setIdle(idle) {
  const frame = idle ? frames.enterIdle(state.me.userId) : frames.exitIdle(state.me.userId);
  send(frame).catch((err) => {
    if (err.name !== 'NotConnected' && err.name !== 'ConnectionLost') toast(`Idle state: ${err.message}`, 'danger');
  });
  if (state.users[state.me.userId]) state.users[state.me.userId].idle = idle;
}
