// chat-tabs.js: one tab per open chat, with its topic, unread count and mention count; × closes
// it (leaves the chat).
import { state, activate, unreadOf, mentionsOfChat } from '../store.js';
import { leaveChat } from '../actions.js';

export default {
  setup() {
    return { state, activate, leaveChat, unreadOf, mentionsOfChat };
  },
  template: `
    <div v-if="state.tabs.length" class="tabs is-boxed is-small mb-0 chatr-tabs" role="tablist">
      <ul>
        <li v-for="tab in state.tabs" :key="tab.id" :class="{ 'is-active': tab.id === state.active }"
            data-testid="chat-tab" :data-chat-id="tab.id">
          <a role="tab" :aria-selected="tab.id === state.active" @click.prevent="activate(tab.id)" href="#"
             :title="state.topics[tab.id] ? tab.name + ': ' + state.topics[tab.id] : tab.name">
            <span class="icon is-small">
              <i :class="tab.private ? 'fa-solid fa-user-lock' : 'fa-regular fa-comment'"></i>
            </span>
            <span class="chatr-tab-name">{{ tab.name }}</span>
            <span v-if="state.topics[tab.id]" class="chatr-tab-topic" data-testid="tab-topic">{{ state.topics[tab.id] }}</span>
            <span v-if="mentionsOfChat(tab.id)" class="tag is-link is-rounded ml-1" data-testid="mention-badge"
                  :title="mentionsOfChat(tab.id) + ' mentions of you'">@{{ mentionsOfChat(tab.id) }}</span>
            <span v-if="unreadOf(tab.id)" class="tag is-danger is-rounded ml-1" data-testid="unread">{{ unreadOf(tab.id) }}</span>
            <button class="delete is-small ml-2" :aria-label="'close ' + tab.name" title="Leave chat"
                    @click.stop.prevent="leaveChat(tab.id)"></button>
          </a>
        </li>
      </ul>
    </div>
  `,
};
