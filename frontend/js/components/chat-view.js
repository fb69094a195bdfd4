// chat-view.js: one open chat: its messages (sender, time, text; one's own on the right),
// group notices, who is typing, and the message box. User text is only ever interpolated
// ({{ }}), which Vue renders as text.
import { computed, nextTick, watch, ref, onMounted } from 'vue';
import { state, nameOf, findTab } from '../store.js';
import { typingText } from '../typing.js';
import { formatTime } from '../util.js';
import MessageBox from './message-box.js';

export default {
  components: { MessageBox },
  props: { chatId: { type: String, required: true } },
  setup(props) {
    const scroller = ref(null);
    const entries = computed(() => state.messages[props.chatId] || []);
    const tab = computed(() => findTab(props.chatId));
    const typing = computed(() => typingText(props.chatId));
    const isMine = (e) => e.fromUserId === state.me.userId;

    function scrollDown(force) {
      const el = scroller.value;
      if (!el) return;
      const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
      if (force || nearBottom) nextTick(() => (el.scrollTop = el.scrollHeight));
    }
    watch(() => entries.value.length, () => scrollDown(false));
    onMounted(() => scrollDown(true));

    return { state, scroller, entries, tab, typing, isMine, nameOf, formatTime };
  },
  template: `
    <section class="chatr-chat" :aria-label="tab ? tab.name : ''">
      <div class="chatr-messages" ref="scroller" data-testid="messages">
        <template v-for="e in entries" :key="e.key">
          <p v-if="e.kind === 'notice'" class="chatr-notice" data-testid="notice">{{ e.text }}</p>
          <div v-else class="chatr-message" :class="{ 'is-mine': isMine(e) }" data-testid="message"
               :data-from="e.fromUserId">
            <div class="chatr-bubble">
              <div class="chatr-meta">
                <strong class="chatr-sender" data-testid="sender">{{ isMine(e) ? 'You' : nameOf(e.fromUserId) }}</strong>
                <time class="chatr-time" :datetime="new Date(e.time).toISOString()">{{ formatTime(e.time) }}</time>
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
