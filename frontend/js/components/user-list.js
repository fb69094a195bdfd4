// user-list.js: who is online, who is idle; click someone to start a private chat.
import { computed } from 'vue';
import { state } from '../store.js';
import { startPrivateChat } from '../actions.js';

export default {
  setup() {
    const users = computed(() =>
      Object.values(state.users).sort((a, b) => {
        const meFirst = (u) => (u.userId === state.me.userId ? 0 : 1);
        return meFirst(a) - meFirst(b) || a.userName.localeCompare(b.userName);
      }));
    const isMe = (u) => u.userId === state.me.userId;
    function open(u) {
      if (isMe(u)) return;
      state.sidebarOpen = false;
      startPrivateChat(u.userId);
    }
    return { users, isMe, open };
  },
  template: `
    <section class="chatr-panel" aria-labelledby="users-heading">
      <h2 id="users-heading" class="chatr-panel-title">
        <span class="icon"><i class="fa-solid fa-users"></i></span> Online
        <span class="tag is-rounded is-light ml-1">{{ users.length }}</span>
      </h2>
      <ul class="chatr-list">
        <li v-for="u in users" :key="u.userId" class="chatr-list-item" data-testid="user-item"
            :data-idle="u.idle ? 'true' : 'false'">
          <a class="chatr-list-name" href="#" @click.prevent="open(u)"
             :title="isMe(u) ? 'You' : 'Chat in private with ' + u.userName"
             :class="{ 'is-me': isMe(u) }">
            <span class="icon is-small" :class="u.idle ? 'has-text-warning' : 'has-text-success'">
              <i :class="u.idle ? 'fa-solid fa-moon' : 'fa-solid fa-circle'"></i>
            </span>
            <span class="chatr-user-name">{{ u.userName }}</span>
            <span v-if="isMe(u)" class="has-text-grey is-size-7">(you)</span>
            <span v-if="u.idle" class="tag is-warning is-light is-rounded is-small ml-1">idle</span>
          </a>
        </li>
      </ul>
    </section>
  `,
};
