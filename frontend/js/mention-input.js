// mention-input.js: @mention autocomplete for a textarea (the composer and the inline editor).
// Typing "@" and part of a name offers the chat's members; arrows move, Enter or Tab picks,
// Esc closes. A picked name is written as "@Name" and remembered with its user id, so that
// toWire() can turn it into a <@userId> token when the text is sent.
import { ref, computed } from 'vue';
import { state } from './store.js';
import { queryAt, suggest, toWire } from './mentions.js';
import { refreshMembers } from './connection.js';

// The people who can be mentioned in a chat: its members, and anyone seen writing there.
function candidates(chatId) {
  const out = new Map(Object.entries(state.members[chatId] || {}));
  for (const e of state.messages[chatId] || []) if (e.fromUserId && !out.has(e.fromUserId)) out.set(e.fromUserId, state.names[e.fromUserId] || '');
  out.delete(state.me?.userId);
  return [...out].filter(([, n]) => n).map(([userId, userName]) => ({ userId, userName }));
}

// text: a ref of the textarea's text; input: a ref of the textarea; chatId(): the chat.
export function useMentions(text, input, chatId, picked = new Map()) {
  const query = ref(null); // {start, query} while a name is being typed
  const index = ref(0);
  const items = computed(() => (query.value ? suggest(candidates(chatId()), query.value.query) : []));
  const open = computed(() => items.value.length > 0);

  function update() {
    const el = input.value;
    const q = el ? queryAt(text.value, el.selectionStart ?? text.value.length) : null;
    if (q && !query.value) refreshMembers();
    query.value = q;
    index.value = 0;
  }

  function pick(item) {
    const q = query.value;
    const el = input.value;
    if (!q || !item) return;
    const label = `@${item.userName}`;
    picked.set(label, item.userId);
    const end = q.start + 1 + q.query.length;
    const next = `${text.value.slice(0, q.start)}${label} ${text.value.slice(end)}`;
    text.value = next;
    query.value = null;
    // The textarea now, not at Vue's next render: a key typed right after the pick lands after
    // the name.
    const caret = q.start + label.length + 1;
    if (el) {
      el.value = next;
      el.focus();
      el.setSelectionRange(caret, caret);
    }
  }

  // Keys while the list is open; true when the key was used.
  function onKey(ev) {
    if (!open.value) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = items.value.length;
      index.value = (index.value + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
    } else if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.shiftKey && !ev.isComposing) {
      pick(items.value[index.value]);
    } else if (ev.key === 'Escape') {
      query.value = null;
    } else {
      return false;
    }
    ev.preventDefault();
    ev.stopPropagation();
    return true;
  }

  const close = () => (query.value = null);
  const wire = () => toWire(text.value, picked);
  const reset = () => {
    picked.clear();
    query.value = null;
  };
  return { items, open, index, update, pick, onKey, close, wire, reset, picked };
}

// The list of names offered; `m` is what useMentions() returned.
export const MentionMenu = {
  props: { m: { type: Object, required: true } },
  template: `
    <ul v-if="m.open.value" class="chatr-mention-menu box" role="listbox" data-testid="mention-menu">
      <li v-for="(item, i) in m.items.value" :key="item.userId" role="option" :aria-selected="i === m.index.value"
          class="chatr-mention-option" :class="{ 'is-active': i === m.index.value }" data-testid="mention-option"
          @mousedown.prevent="m.pick(item)">
        <span class="icon is-small"><i class="fa-solid fa-at"></i></span> {{ item.userName }}
      </li>
    </ul>
  `,
};
