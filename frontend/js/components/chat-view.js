// chat-view.js: one open chat: its topic, its messages in id order (sender, time, text; one's
// own on the right, the bot's set apart, /me lines as "* Alice waves"), group notices, older
// pages when scrolled to the top (keeping the view where it was), who is typing, and the
// message box. User text is only ever interpolated ({{ }}), which Vue renders as text.
import { computed, nextTick, watch, ref, onMounted } from 'vue';
import { state, nameOf, senderOf, actorOf, findTab } from '../store.js';
import { loadOlder } from '../history.js';
import { typingText } from '../typing.js';
import { formatTime } from '../util.js';
import MessageBox from './message-box.js';

const NEAR_TOP_PX = 80;

export default {
  components: { MessageBox },
  props: { chatId: { type: String, required: true } },
  setup(props) {
    const scroller = ref(null);
    const entries = computed(() => state.messages[props.chatId] || []);
    const tab = computed(() => findTab(props.chatId));
    const topic = computed(() => state.topics[props.chatId] || '');
    const hist = computed(() => state.history[props.chatId] || {});
    const typing = computed(() => typingText(props.chatId));
    const isMine = (e) => !e.bot && e.fromUserId === state.me.userId;
    const iso = (ms) => new Date(ms).toISOString();
    let olderPending = false;

    function scrollDown(force) {
      const el = scroller.value;
      if (!el) return;
      const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
      if (force || nearBottom) nextTick(() => (el.scrollTop = el.scrollHeight));
    }
    watch(() => entries.value.length, () => scrollDown(false));
    onMounted(() => scrollDown(true));

    // Loads the page before the oldest message and puts the message that was at the top back
    // where it was on screen.
    async function older() {
      const el = scroller.value;
      if (!el || olderPending) return;
      olderPending = true;
      try {
        const anchor = el.querySelector('[data-key]');
        const key = anchor?.dataset.key;
        const offset = anchor ? anchor.offsetTop - el.scrollTop : 0;
        const added = await loadOlder(props.chatId);
        if (!added || !key) return;
        await nextTick();
        const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
        if (again) el.scrollTop = again.offsetTop - offset;
      } finally {
        olderPending = false;
      }
    }

    function onScroll() {
      const el = scroller.value;
      const h = hist.value;
      if (el && el.scrollTop < NEAR_TOP_PX && h.loaded && !h.start) older();
    }

    return { state, scroller, entries, tab, topic, hist, typing, isMine, nameOf, senderOf, actorOf, formatTime, iso, older, onScroll };
  },
  template: `
    <section class="chatr-chat" :aria-label="tab ? tab.name : ''">
      <p v-if="topic" class="chatr-topic" data-testid="chat-topic" :title="topic">
        <span class="icon is-small"><i class="fa-solid fa-thumbtack"></i></span> {{ topic }}
      </p>
      <div class="chatr-messages" ref="scroller" data-testid="messages" @scroll.passive="onScroll">
        <p v-if="hist.start" class="chatr-history-start" data-testid="history-start">Beginning of the conversation</p>
        <p v-else-if="hist.loaded" class="chatr-history-more">
          <button class="button is-small is-text" type="button" data-testid="load-older" :disabled="hist.loading" @click="older">
            Load older messages
          </button>
        </p>
        <p v-if="hist.loading" class="chatr-history-more has-text-grey" data-testid="history-loading">Loading…</p>
        <template v-for="e in entries" :key="e.key">
          <p v-if="e.kind === 'notice'" class="chatr-notice" data-testid="notice" :data-key="e.key"
             :data-id="e.id" :title="formatTime(e.time)">{{ e.text }}</p>
          <div v-else-if="e.action" class="chatr-message is-action" data-testid="message" :data-key="e.key"
               :data-id="e.id" :data-from="e.actorId">
            <p class="chatr-action">
              <span data-testid="text">* {{ actorOf(e) }} {{ e.text }}</span>
              <time class="chatr-time ml-2" :datetime="iso(e.time)">{{ formatTime(e.time) }}</time>
            </p>
          </div>
          <div v-else class="chatr-message" :class="{ 'is-mine': isMine(e), 'is-bot': e.bot }" data-testid="message"
               :data-key="e.key" :data-id="e.id" :data-from="e.bot ? 'bot' : e.fromUserId">
            <div class="chatr-bubble">
              <div class="chatr-meta">
                <strong class="chatr-sender" data-testid="sender">
                  <span v-if="e.bot" class="icon is-small mr-1"><i class="fa-solid fa-robot"></i></span>{{ isMine(e) ? 'You' : senderOf(e) }}
                </strong>
                <time class="chatr-time" :datetime="iso(e.time)">{{ formatTime(e.time) }}</time>
              </div>
              <div class="chatr-text" data-testid="text">{{ e.text }}</div>
            </div>
          </div>
        </template>
      </div>
      <p class="chatr-typing" data-testid="typing" aria-live="polite">{{ typing }}</p>
      <message-box :chat-id="chatId"></message-box>
    </section>
  `,
};
