// message-item.js: one chat message: sender, time, "(edited)" with the edit time as a tooltip,
// the text with its mentions, a shared file, reactions (chips with count, who reacted in the
// tooltip, one's own highlighted; a click toggles), and its tools: react (a small picker), edit
// (one's own: inline, Enter saves, Esc cancels) and delete (one's own, or any as the chat's
// owner; after confirming). A deleted message stays as a "message deleted" tombstone.
import { ref, computed, nextTick } from 'vue';
import { state, senderOf } from '../store.js';
import { editMessage, deleteMessage, toggleReaction } from '../actions.js';
import { toDisplay } from '../mentions.js';
import { useMentions, MentionMenu } from '../mention-input.js';
import { formatTime } from '../util.js';
import RichText, { mentionName } from './rich-text.js';
import ChatFile from './chat-file.js';
import ConfirmModal from './confirm-modal.js';

// The picker's fixed choices; the emoji already on the message are offered too.
export const COMMON_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];
const WHO_SHOWN_MAX = 10; // names in a reaction's tooltip

export default {
  components: { RichText, ChatFile, ConfirmModal, MentionMenu },
  props: { entry: { type: Object, required: true }, chatId: { type: String, required: true } },
  setup(props) {
    const e = computed(() => props.entry);
    const mine = computed(() => !e.value.bot && e.value.fromUserId === state.me.userId);
    const owner = computed(() => state.chats[props.chatId]?.owner === state.me.userId);
    const stored = computed(() => e.value.id !== null && !e.value.deleted);
    const canEdit = computed(() => stored.value && mine.value && !e.value.file);
    const canDelete = computed(() => stored.value && (mine.value || owner.value));
    const showText = computed(() => !!e.value.text && !(e.value.file && e.value.text === e.value.file.name));
    const iso = (ms) => new Date(ms).toISOString();
    const full = (ms) => new Date(ms).toLocaleString();

    // Editing in place.
    const editing = ref(false);
    const draft = ref('');
    const editor = ref(null);
    const m = useMentions(draft, editor, () => props.chatId);
    function startEdit() {
      const shown = toDisplay(e.value.text, mentionName);
      m.reset();
      for (const [label, id] of shown.picked) m.picked.set(label, id);
      draft.value = shown.text;
      editing.value = true;
      nextTick(() => editor.value?.focus());
    }
    const cancelEdit = () => {
      editing.value = false;
      m.reset();
    };
    async function saveEdit() {
      const { text, mentions } = m.wire();
      if (!text.trim()) return;
      if (text === e.value.text) return cancelEdit();
      if (await editMessage(props.chatId, e.value.id, text, mentions)) cancelEdit();
    }
    function onEditKey(ev) {
      if (m.onKey(ev)) return;
      if (ev.key === 'Escape') {
        ev.preventDefault();
        cancelEdit();
      } else if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        saveEdit();
      }
    }

    // Deleting after confirming.
    const confirming = ref(false);
    async function confirmDelete() {
      confirming.value = false;
      await deleteMessage(props.chatId, e.value.id);
    }

    // Reactions.
    const picking = ref(false);
    const choices = computed(() => [...new Set([...COMMON_EMOJI, ...(e.value.reactions || []).map((r) => r.emoji)])]);
    function react(emoji) {
      picking.value = false;
      toggleReaction(props.chatId, e.value.id, emoji);
    }
    function who(r) {
      const names = r.userIds.slice(0, WHO_SHOWN_MAX).map((id) => (id === state.me.userId ? 'you' : mentionName(id)));
      const more = r.count - names.length;
      return `${r.emoji} ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
    }

    return { state, e, mine, canEdit, canDelete, showText, senderOf, formatTime, iso, full, editing, draft, editor, m,
      startEdit, cancelEdit, saveEdit, onEditKey, confirming, confirmDelete, picking, choices, react, who };
  },
  template: `
    <div class="chatr-message" :class="{ 'is-mine': mine, 'is-bot': e.bot, 'is-deleted': e.deleted }" data-testid="message"
         :data-key="e.key" :data-id="e.id" :data-from="e.bot ? 'bot' : e.fromUserId">
      <div class="chatr-bubble">
        <div class="chatr-meta">
          <strong class="chatr-sender" data-testid="sender">
            <span v-if="e.bot" class="icon is-small mr-1"><i class="fa-solid fa-robot"></i></span>{{ mine ? 'You' : senderOf(e) }}
          </strong>
          <time class="chatr-time" :datetime="iso(e.time)">{{ formatTime(e.time) }}</time>
          <span v-if="e.editedTime && !e.deleted" class="chatr-edited" data-testid="edited"
                :title="'Edited ' + full(e.editedTime)">(edited)</span>
        </div>
        <p v-if="e.deleted" class="chatr-tombstone" data-testid="tombstone">
          <span class="icon is-small"><i class="fa-solid fa-ban"></i></span> message deleted
        </p>
        <div v-else-if="editing" class="chatr-editor">
          <textarea class="textarea is-small" rows="2" ref="editor" v-model="draft" aria-label="edit message"
                    data-testid="edit-input" @keydown="onEditKey" @input="m.update" @click="m.update"></textarea>
          <mention-menu :m="m"></mention-menu>
          <p class="is-size-7 has-text-grey mt-1">
            Enter saves, Esc cancels
            <button class="button is-small is-primary ml-2" type="button" data-testid="edit-save" @click="saveEdit">Save</button>
            <button class="button is-small ml-1" type="button" data-testid="edit-cancel" @click="cancelEdit">Cancel</button>
          </p>
        </div>
        <template v-else>
          <chat-file v-if="e.file" :file="e.file"></chat-file>
          <div v-if="showText" class="chatr-text" data-testid="text"><rich-text :text="e.text"></rich-text></div>
        </template>
        <div v-if="!e.deleted && e.reactions && e.reactions.length" class="chatr-reactions">
          <button v-for="r in e.reactions" :key="r.emoji" type="button" class="chatr-chip" :class="{ 'is-me': r.me }"
                  data-testid="reaction" :data-emoji="r.emoji" :title="who(r)" :aria-pressed="r.me"
                  @click="react(r.emoji)">
            <span>{{ r.emoji }}</span> <span data-testid="reaction-count">{{ r.count }}</span>
          </button>
        </div>
      </div>
      <div v-if="e.id !== null && !e.deleted && !editing" class="chatr-tools">
        <button type="button" class="chatr-tool" title="React" aria-label="react" data-testid="react"
                @click="picking = !picking"><i class="fa-regular fa-face-smile"></i></button>
        <button v-if="canEdit" type="button" class="chatr-tool" title="Edit" aria-label="edit" data-testid="edit"
                @click="startEdit"><i class="fa-solid fa-pen"></i></button>
        <button v-if="canDelete" type="button" class="chatr-tool" title="Delete" aria-label="delete" data-testid="delete"
                @click="confirming = true"><i class="fa-solid fa-trash-can"></i></button>
        <template v-if="picking">
          <div class="chatr-picker-backdrop" @click="picking = false"></div>
          <div class="chatr-picker box" role="menu" data-testid="emoji-picker" @keydown.esc="picking = false">
            <button v-for="emoji in choices" :key="emoji" type="button" class="chatr-picker-emoji" role="menuitem"
                    :data-emoji="emoji" :aria-label="'react ' + emoji" @click="react(emoji)">{{ emoji }}</button>
          </div>
        </template>
      </div>
      <confirm-modal v-if="confirming" :title="'Delete message'" :confirm-label="'Delete'"
                     @confirm="confirmDelete" @cancel="confirming = false">
        Delete this message for everyone?
      </confirm-modal>
    </div>
  `,
};
