// chat-list.js: the group chats: create one by name, join one, and (its owner) delete one
// after confirming; each with its unread and mention counts (docs/chat-features.md).
import { ref, computed } from 'vue';
import { state, findTab, unreadOf, mentionsOfChat } from '../store.js';
import { createChat, joinChat, deleteChat, CHAT_NAME_MAX } from '../actions.js';
import ConfirmModal from './confirm-modal.js';

export default {
  components: { ConfirmModal },
  setup() {
    const newName = ref('');
    const toDelete = ref(null);
    const chats = computed(() =>
      Object.values(state.chats).sort((a, b) => a.name.localeCompare(b.name)));
    async function create() {
      const name = newName.value;
      newName.value = '';
      state.sidebarOpen = false;
      await createChat(name);
    }
    function join(chat) {
      state.sidebarOpen = false;
      joinChat(chat.id, chat.name);
    }
    async function confirmDelete() {
      const chat = toDelete.value;
      toDelete.value = null;
      if (chat) await deleteChat(chat.id);
    }
    const isOwner = (chat) => chat.owner === state.me.userId;
    const isOpen = (chat) => !!findTab(chat.id);
    return { state, chats, newName, toDelete, create, join, confirmDelete, isOwner, isOpen, unreadOf, mentionsOfChat, CHAT_NAME_MAX };
  },
  template: `
    <section class="chatr-panel" aria-labelledby="chats-heading">
      <h2 id="chats-heading" class="chatr-panel-title">
        <span class="icon"><i class="fa-solid fa-hashtag"></i></span> Group chats
      </h2>
      <form class="field has-addons" @submit.prevent="create" data-testid="new-chat-form">
        <div class="control is-expanded">
          <input class="input is-small" v-model="newName" :maxlength="CHAT_NAME_MAX"
                 placeholder="New chat name" aria-label="new chat name" required>
        </div>
        <div class="control">
          <button class="button is-small is-primary" type="submit" aria-label="create chat">
            <span class="icon"><i class="fa-solid fa-plus"></i></span>
          </button>
        </div>
      </form>
      <p v-if="chats.length === 0" class="has-text-grey is-size-7">No chats yet: create one.</p>
      <ul class="chatr-list">
        <li v-for="chat in chats" :key="chat.id" class="chatr-list-item" data-testid="chat-item"
            :class="{ 'is-open': isOpen(chat) }">
          <a class="chatr-list-name" href="#" @click.prevent="join(chat)" :title="'Join ' + chat.name">
            <span class="icon is-small"><i class="fa-regular fa-comment"></i></span>
            <span class="chatr-chat-name">{{ chat.name }}</span>
            <span v-if="mentionsOfChat(chat.id)" class="tag is-link is-rounded is-small" data-testid="list-mention-badge"
                  :title="mentionsOfChat(chat.id) + ' mentions of you'">@{{ mentionsOfChat(chat.id) }}</span>
            <span v-if="unreadOf(chat.id)" class="tag is-danger is-light is-rounded is-small" data-testid="list-unread"
                  :title="unreadOf(chat.id) + ' unread'">{{ unreadOf(chat.id) }}</span>
          </a>
          <button v-if="isOwner(chat)" class="button is-small is-white has-text-danger"
                  :aria-label="'delete chat ' + chat.name" title="Delete chat" data-testid="delete-chat"
                  @click="toDelete = chat">
            <span class="icon is-small"><i class="fa-solid fa-trash-can"></i></span>
          </button>
        </li>
      </ul>
      <confirm-modal v-if="toDelete" :title="'Delete chat'" :confirm-label="'Delete'"
                     @confirm="confirmDelete" @cancel="toDelete = null">
        Delete the chat <strong>{{ toDelete.name }}</strong> for everyone?
      </confirm-modal>
    </section>
  `,
};
