// mentions.js: @mentions in message text (docs/chat-features.md#in-the-web-app). On the wire a
// mention is the token <@userId> in `message` plus the id in `mentions`; in the composer and
// the inline editor it is "@Name", remembered with the id it stands for when it was picked from
// the autocomplete list. Pure functions: the text is split into segments that components render
// as text nodes (never as HTML).
import { MENTIONS_MAX } from './frames.js';

const TOKEN = /<@([^<>\s]{1,256})>/g;
export const SUGGESTIONS_MAX = 8; // names offered at once
const QUERY_MAX = 32;             // characters typed after @ that still look for a name

// Splits text into [{text}] and [{mention: userId}] segments, in order.
export function segments(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ mention: m[1] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

// The wire text with each token as "@Name" (for the editor), and the names it used:
// {text, picked: Map("@Name" -> userId)}.
export function toDisplay(text, nameOf) {
  const picked = new Map();
  const shown = text.replace(TOKEN, (_, id) => {
    const label = `@${nameOf(id)}`;
    if (!picked.has(label)) picked.set(label, id);
    return label;
  });
  return { text: shown, picked };
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The composer's text with every picked "@Name" as a <@userId> token: {text, mentions}.
// Longer names first, so "@Ann Lee" wins over "@Ann".
export function toWire(text, picked) {
  const labels = [...picked.keys()].filter((l) => text.includes(l)).sort((a, b) => b.length - a.length);
  if (labels.length === 0) return { text, mentions: [] };
  const re = new RegExp(labels.map(escapeRe).join('|'), 'g');
  const ids = [];
  const wire = text.replace(re, (label) => {
    const id = picked.get(label);
    if (!ids.includes(id)) ids.push(id);
    return `<@${id}>`;
  });
  return { text: wire, mentions: ids.slice(0, MENTIONS_MAX) };
}

// The "@query" being typed just before the caret, or null: {start, query}.
export function queryAt(text, caret) {
  const before = text.slice(0, caret);
  const m = /(^|\s)@([^\s@<>]*)$/.exec(before);
  if (!m || m[2].length > QUERY_MAX) return null;
  return { start: caret - m[2].length - 1, query: m[2] };
}

// Members whose name contains the query (case-insensitively), names starting with it first.
// members: [{userId, userName}].
export function suggest(members, query) {
  const q = query.toLowerCase();
  return members
    .filter((m) => m.userName.toLowerCase().includes(q))
    .sort((a, b) => {
      const pa = a.userName.toLowerCase().startsWith(q) ? 0 : 1;
      const pb = b.userName.toLowerCase().startsWith(q) ? 0 : 1;
      return pa - pb || a.userName.localeCompare(b.userName);
    })
    .slice(0, SUGGESTIONS_MAX);
}
