// private-list.js: the user's private chats, whether their tab is open here or not (from GET
// /api/chats after every (re)connect, and as they start or mention the user), each with its
// unread and mention counts; a click opens it (docs/chat-features.md#in-the-web-app).
import { computed } from 'vue';
import { state, findTab, nameOf, unreadOf, mentionsOfChat } from '../store.js';
import { joinChat } from '../actions.js';

export default {
  setup() {
    const label = (c) => (c.withUserId ? nameOf(c.withUserId) : c.name);
    const chats = computed(() => Object.values(state.privates).sort((a, b) => label(a).localeCompare(label(b))));
    function open(c) {
      state.sidebarOpen = false;
      joinChat(c.id, c.name);
    }
    const isOpen = (c) => !!findTab(c.id);
    return { chats, label, open, isOpen, unreadOf, mentionsOfChat };
  },
  template: `
    <section v-if="chats.length" class="chatr-panel" aria-labelledby="privates-heading">
      <h2 id="privates-heading" class="chatr-panel-title">
        <span class="icon"><i class="fa-solid fa-user-lock"></i></span> Private chats
      </h2>
      <ul class="chatr-list">
        <li v-for="c in chats" :key="c.id" class="chatr-list-item" data-testid="private-item"
            :data-chat-id="c.id" :class="{ 'is-open': isOpen(c) }">
          <a class="chatr-list-name" href="#" @click.prevent="open(c)" :title="c.name">
            <span class="icon is-small"><i class="fa-solid fa-user-lock"></i></span>
            <span class="chatr-chat-name">{{ label(c) }}</span>
            <span v-if="mentionsOfChat(c.id)" class="tag is-link is-rounded is-small" data-testid="list-mention-badge"
                  :title="mentionsOfChat(c.id) + ' mentions of you'">@{{ mentionsOfChat(c.id) }}</span>
            <span v-if="unreadOf(c.id)" class="tag is-danger is-light is-rounded is-small" data-testid="list-unread"
                  :title="unreadOf(c.id) + ' unread'">{{ unreadOf(c.id) }}</span>
          </a>
        </li>
      </ul>
    </section>
  `,
};
