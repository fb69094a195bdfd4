// actions.js: what the user can do, each as one function the components call.
import * as frames from './frames.js';
import { send, sendOrToast } from './connection.js';
import * as history from './history.js';
import * as api from './api.js';
import { state, openTab, closeTab, findTab, addEntry, updateEntry, findEntry } from './store.js';
import { typed, stoppedTyping } from './typing.js';
import { toast } from './notify.js';
import { uuid, formatSize } from './util.js';

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

// Closing a tab leaves the chat (a private one too: it is no longer listed).
export async function leaveChat(chatId) {
  closeTab(chatId);
  delete state.privates[chatId];
  delete state.reads[chatId];
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
// sends "/text" as a message. mentions: the user ids of the <@userId> tokens in text.
// Resolves to false when it was not sent (the box keeps the text).
export async function sendMessage(chatId, text, mentions = []) {
  text = text.slice(0, MESSAGE_MAX);
  if (!text.trim()) return false;
  const command = text.startsWith('/') && !text.startsWith('//');
  // A message clears the sender's typing indicator where it arrives; a command must say so.
  stoppedTypingIn(chatId, command);
  if (command) return runCommand(chatId, text.trim());
  if (text.startsWith('//')) text = text.slice(1);
  const named = frames.mentionsOf(mentions.filter((id) => text.includes(`<@${id}>`)));
  const stored = named.length ? expectOwnLine(chatId, text, named) : null;
  try {
    await send(frames.chatMessage(chatId, state.me, text, { mentions: named }));
  } catch (err) {
    stored?.cancel();
    addEntry(chatId, { kind: 'notice', text: `Not sent: ${text.slice(0, 80)} (${err.message})` });
    toast(`Message not sent: ${err.message}`, 'danger');
    return false;
  }
  if (stored) tellMentioned(chatId, stored.id);
  return true;
}

// A line that mentions someone reaches only the sockets that have its chat open; the server
// tells the members it names everywhere (`mentioned`) once this client names the line by its
// hub id (frames.mention), which it learns from its own copy of the line (incoming.js calls
// ownLine). docs/chat-features.md#mentions.
const OWN_LINE_WAIT_MS = 10000; // the copy comes right after the ack; this only bounds a loss
const OWN_LINES_MAX = 50;       // lines waiting for their copy
const awaiting = [];            // [{chatId, text, key, resolve, timer}]
let mentionUnsupported = false; // the server refused the event as unknown: stop asking

function expectOwnLine(chatId, text, named) {
  const wait = { chatId, text, key: named.join('\n') };
  const id = new Promise((resolve) => {
    wait.resolve = resolve;
    wait.timer = setTimeout(() => settleOwnLine(wait, null), OWN_LINE_WAIT_MS);
  });
  awaiting.push(wait);
  if (awaiting.length > OWN_LINES_MAX) settleOwnLine(awaiting[0], null);
  return { id, cancel: () => settleOwnLine(wait, null) };
}

function settleOwnLine(wait, id) {
  const i = awaiting.indexOf(wait);
  if (i < 0) return;
  awaiting.splice(i, 1);
  clearTimeout(wait.timer);
  wait.resolve(id);
}

// One of this user's lines arrived with its hub id (this tab's copy, or another tab's line).
// Matched by chat and mentions, the same text first (the hub's word filter may have masked it).
export function ownLine(chatId, entry) {
  if (entry.id === null || !entry.mentions?.length || !awaiting.length) return;
  const key = entry.mentions.join('\n');
  const same = awaiting.filter((w) => w.chatId === chatId && w.key === key);
  const wait = same.find((w) => w.text === entry.text) || same[0];
  if (wait) settleOwnLine(wait, entry.id);
}

async function tellMentioned(chatId, idPromise) {
  const id = await idPromise;
  if (id === null || mentionUnsupported) return;
  try {
    await send(frames.mention(chatId, id));
  } catch (err) {
    if (/unknown event|no handler/i.test(err.message)) mentionUnsupported = true;
    console.warn(`mention ${chatId} ${id}: ${err.message}`);
  }
}

// Edits one's own message; the server answers every member with messageEdited.
export async function editMessage(chatId, messageId, text, mentions = []) {
  text = text.slice(0, MESSAGE_MAX);
  if (!text.trim()) return false;
  mentions = mentions.filter((id) => text.includes(`<@${id}>`));
  try {
    await send(frames.editMessage(chatId, messageId, text, mentions));
  } catch (err) {
    toast(`Not edited: ${err.message}`, 'danger');
    return false;
  }
  const held = findEntry(chatId, messageId);
  if (held && !held.deleted) updateEntry(chatId, messageId, { text, mentions, editedTime: held.editedTime ?? Date.now() });
  return true;
}

// Deletes a message (one's own; a chat's owner any); members see a tombstone (messageDeleted).
export async function deleteMessage(chatId, messageId) {
  try {
    await send(frames.deleteMessage(chatId, messageId));
  } catch (err) {
    toast(`Not deleted: ${err.message}`, 'danger');
    return false;
  }
  updateEntry(chatId, messageId, tombstone);
  return true;
}

export const tombstone = Object.freeze({ deleted: true, text: '', mentions: [], file: null, reactions: [] });

// Adds or takes back one's reaction; the count comes back with the live `reaction` event.
export async function toggleReaction(chatId, messageId, emoji) {
  const held = findEntry(chatId, messageId);
  const mine = !!held?.reactions?.find((r) => r.emoji === emoji && r.me);
  try {
    await send(frames.react(chatId, messageId, emoji, !mine));
  } catch (err) {
    toast(`Reaction not sent: ${err.message}`, 'danger');
  }
}

// Uploads a file into the chat and shares it with a line carrying `file` (its name as the text,
// so the original client and search see it). progress(fraction) as it goes. Resolves to an
// error text, or null when shared.
export async function shareFile(chatId, file, progress) {
  let answer;
  try {
    answer = await api.uploadFile(chatId, file, progress);
  } catch (err) {
    const why = err.status === 403 ? 'not allowed here' : err.message;
    toast(`${file.name || 'File'} (${formatSize(file.size)}) not uploaded: ${why}`, 'danger', 8000);
    return why;
  }
  const shared = frames.fileOf(answer);
  if (!shared) {
    toast('The upload gave no usable file address', 'danger');
    return 'bad answer';
  }
  try {
    await send(frames.chatMessage(chatId, state.me, shared.name, { file: answer }));
    return null;
  } catch (err) {
    toast(`${shared.name} was uploaded but not shared: ${err.message}`, 'danger');
    return err.message;
  }
}

// Opens a chat (joining it when needed) at one of its messages, as a search hit or a mention
// notice asks.
export async function openMessage(chatId, chatName, messageId) {
  if (!findTab(chatId)) {
    openTab(chatId, chatName);
    if (!(await sendOrToast(frames.joinChat(chatId), `Could not open "${chatName}"`))) {
      closeTab(chatId);
      return false;
    }
    history.sync(chatId);
  } else {
    openTab(chatId);
  }
  const held = await history.showMessage(chatId, messageId);
  if (!held) toast('That message is no longer there', 'warning');
  return held;
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
