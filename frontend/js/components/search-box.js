// search-box.js: full-text search over the user's chats (GET /api/search): a box in the top
// bar, the hits below it newest first with the matched words marked (rich-text.js turns the
// server's markers into <mark> elements; nothing is parsed as HTML), more on request; a click
// opens the chat at that message (docs/chat-features.md#in-the-web-app).
import { ref, onMounted, onBeforeUnmount } from 'vue';
import { state, findTab, nameOf } from '../store.js';
import { search, SEARCH_QUERY_MAX } from '../api.js';
import { openMessage } from '../actions.js';
import { messageIdOf, timeOf } from '../frames.js';
import { formatTime } from '../util.js';
import RichText from './rich-text.js';

const RESULTS_KEPT_MAX = 200; // hits listed at once ("more" stops there)

export default {
  components: { RichText },
  setup() {
    const q = ref('');
    const hits = ref([]);
    const more = ref(false);
    const open = ref(false);
    const busy = ref(false);
    const error = ref('');
    const root = ref(null);
    let asked = '';

    const chatName = (id) => state.chats[id]?.name || findTab(id)?.name || (String(id).startsWith('private_') ? 'private chat' : 'a chat');
    const sender = (hit) => (hit.fromUserId === state.me.userId ? 'You' : hit.fromUserName || nameOf(hit.fromUserId));

    function clean(list) {
      return list
        .map((v) => ({ ...v, id: messageIdOf(v.id) }))
        .filter((v) => v.id !== null && typeof v.chatId === 'string')
        .map((v) => ({
          chatId: v.chatId, id: v.id, time: timeOf(v.time), fromUserId: String(v.fromUserId ?? ''),
          fromUserName: typeof v.fromUserName === 'string' ? v.fromUserName : '',
          shown: typeof v.highlight === 'string' && v.highlight ? v.highlight : String(v.text ?? ''),
        }));
    }

    async function run(next = false) {
      const text = next ? asked : q.value.trim().slice(0, SEARCH_QUERY_MAX);
      if (!text) return;
      asked = text;
      busy.value = true;
      error.value = '';
      open.value = true;
      try {
        const before = next && hits.value.length ? hits.value[hits.value.length - 1].id : undefined;
        const page = await search(text, { before });
        const got = clean(page.value);
        hits.value = (next ? [...hits.value, ...got] : got).slice(0, RESULTS_KEPT_MAX);
        more.value = page.more && hits.value.length < RESULTS_KEPT_MAX;
      } catch (err) {
        error.value = err.message;
        if (!next) hits.value = [];
        more.value = false;
      } finally {
        busy.value = false;
      }
    }

    async function go(hit) {
      open.value = false;
      state.sidebarOpen = false;
      await openMessage(hit.chatId, chatName(hit.chatId), hit.id);
    }

    const close = () => (open.value = false);
    const onDocClick = (ev) => {
      if (root.value && !root.value.contains(ev.target)) close();
    };
    onMounted(() => document.addEventListener('mousedown', onDocClick));
    onBeforeUnmount(() => document.removeEventListener('mousedown', onDocClick));

    return { q, hits, more, open, busy, error, root, run, go, close, chatName, sender, formatTime, SEARCH_QUERY_MAX };
  },
  template: `
    <div class="chatr-search" ref="root" @keydown.esc="close">
      <form class="field has-addons mb-0" role="search" @submit.prevent="run(false)">
        <div class="control is-expanded">
          <input class="input is-small" type="search" v-model="q" :maxlength="SEARCH_QUERY_MAX" placeholder="Search messages"
                 aria-label="search messages" data-testid="search-input" @focus="hits.length && (open = true)">
        </div>
        <div class="control">
          <button class="button is-small" type="submit" aria-label="search" :class="{ 'is-loading': busy }">
            <span class="icon is-small"><i class="fa-solid fa-magnifying-glass"></i></span>
          </button>
        </div>
      </form>
      <div v-if="open" class="chatr-search-results box" data-testid="search-results">
        <p v-if="error" class="has-text-danger is-size-7" data-testid="search-error">{{ error }}</p>
        <p v-else-if="!busy && hits.length === 0" class="has-text-grey is-size-7" data-testid="search-empty">No messages found.</p>
        <ul>
          <li v-for="hit in hits" :key="hit.chatId + ':' + hit.id">
            <a href="#" class="chatr-hit" data-testid="search-hit" :data-chat-id="hit.chatId" :data-id="hit.id" @click.prevent="go(hit)">
              <span class="chatr-hit-meta">
                <strong>{{ chatName(hit.chatId) }}</strong> · {{ sender(hit) }}
                <time v-if="hit.time" class="chatr-time">{{ formatTime(hit.time) }}</time>
              </span>
              <span class="chatr-hit-text"><rich-text :text="hit.shown" :marks="true"></rich-text></span>
            </a>
          </li>
        </ul>
        <button v-if="more" type="button" class="button is-small is-text" data-testid="search-more" :disabled="busy" @click="run(true)">
          More results
        </button>
      </div>
    </div>
  `,
};
