// rich-text.js: a message's text with its <@userId> mentions as highlighted "@Name" and, for a
// search hit, the hits (between the server's \u0002 and \u0003 markers) in <mark>. Built as
// VNodes whose user parts are text nodes only: nothing is ever parsed as HTML.
import { h } from 'vue';
import { segments } from '../mentions.js';
import { state } from '../store.js';

const MARK_ON = '\u0002';
const MARK_OFF = '\u0003';

// The name a mention shows: the user's, or the id itself when the user is unknown here.
export function mentionName(userId) {
  if (state.me && userId === state.me.userId) return state.me.userName;
  return state.users[userId]?.userName || state.names[userId] || userId;
}

// [{text, mark}] pieces of a highlighted fragment; stray markers are dropped.
export function splitMarks(text) {
  const out = [];
  let mark = false, cur = '';
  for (const ch of text) {
    if (ch === MARK_ON || ch === MARK_OFF) {
      if (cur) out.push({ text: cur, mark });
      cur = '';
      mark = ch === MARK_ON;
    } else {
      cur += ch;
    }
  }
  if (cur) out.push({ text: cur, mark });
  return out;
}

function withMentions(text) {
  return segments(text).map((s) => {
    if (!s.mention) return s.text;
    const mine = s.mention === state.me?.userId;
    return h('span', { class: ['chatr-mention', { 'is-me': mine }], 'data-testid': 'mention', 'data-user-id': s.mention },
      `@${mentionName(s.mention)}`);
  });
}

export default {
  props: { text: { type: String, default: '' }, marks: { type: Boolean, default: false } },
  setup(props) {
    return () => {
      if (!props.marks) return h('span', { class: 'chatr-rich' }, withMentions(props.text));
      const kids = splitMarks(props.text).map((p) =>
        (p.mark ? h('mark', { 'data-testid': 'hit' }, withMentions(p.text)) : withMentions(p.text)));
      return h('span', { class: 'chatr-rich' }, kids.flat());
    };
  },
};
