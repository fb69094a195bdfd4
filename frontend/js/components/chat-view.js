// chat-view.js: one open chat: its topic, its messages in id order (sender, time, text; one's
// own on the right, the bot's set apart, /me lines as "* Alice waves"), group notices, older
// pages when scrolled to the top (keeping the view where it was), who is typing, and the
// message box. User text is only ever interpolated ({{ }}) or built as text VNodes, which Vue
// renders as text. A "new messages" divider marks where the user had read up to when the chat
// was opened; the newest message on screen (window focused) is reported read; a search hit is
// scrolled to and flashed; files dropped on the chat are uploaded into it.
import { computed, nextTick, watch, ref, onMounted, onBeforeUnmount } from 'vue';
import { state, nameOf, senderOf, actorOf, findTab, readsOf, clearUnread } from '../store.js';
import { loadOlder } from '../history.js';
import { seen } from '../readstate.js';
import { typingText } from '../typing.js';
import { formatTime } from '../util.js';
import MessageBox from './message-box.js';
import MessageItem from './message-item.js';

const NEAR_TOP_PX = 80;
const SEEN_CHECK_MS = 250; // after a scroll stops, which messages are on screen
const FLASH_MS = 2500;

export default {
  components: { MessageBox, MessageItem },
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

    // Where the user had read up to when the chat was opened (the divider stays there while the
    // chat is shown, however far the reading goes meanwhile); undefined until it is known.
    const dividerAfter = ref(undefined);
    function takeDivider() {
      if (dividerAfter.value !== undefined) return;
      const r = state.reads[props.chatId];
      if (r && r.lastReadId !== null) dividerAfter.value = r.lastReadId;
    }
    takeDivider();
    const unwatchReads = watch(() => state.reads[props.chatId]?.lastReadId, () => {
      if (!state.history[props.chatId]?.loaded) takeDivider();
    });
    // The key of the first message from someone else after that point.
    const dividerKey = computed(() => {
      const after = dividerAfter.value;
      if (after === undefined || after === null) return null;
      const first = entries.value.find((e) => e.kind === 'message' && e.id !== null && e.id > after && e.fromUserId !== state.me.userId);
      return first ? first.key : null;
    });

    // The newest message on screen counts as read while the window has the focus.
    let seenTimer = null;
    function checkSeen() {
      clearTimeout(seenTimer);
      seenTimer = setTimeout(() => {
        const el = scroller.value;
        if (!el || document.hidden || !document.hasFocus()) return;
        const view = el.getBoundingClientRect();
        const items = el.querySelectorAll('[data-id]');
        for (let i = items.length - 1; i >= 0; i--) {
          const r = items[i].getBoundingClientRect();
          if (r.top < view.bottom && r.bottom > view.top) {
            seen(props.chatId, Number(items[i].dataset.id));
            if (state.active === props.chatId) clearUnread(props.chatId);
            return;
          }
        }
      }, SEEN_CHECK_MS);
    }
    watch(() => entries.value.length, checkSeen);
    const onFocus = () => checkSeen();
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onFocus);

    // A search hit: scroll to it and flash it.
    const flashKey = ref(null);
    let flashTimer = null;
    function flash() {
      const f = state.flash;
      if (!f || f.chatId !== props.chatId) return;
      state.flash = null;
      nextTick(() => {
        const node = scroller.value?.querySelector(`[data-id="${f.id}"]`);
        if (!node) return;
        node.scrollIntoView({ block: 'center' });
        flashKey.value = `m${f.id}`;
        clearTimeout(flashTimer);
        flashTimer = setTimeout(() => (flashKey.value = null), FLASH_MS);
      });
    }
    watch(() => state.flash, flash);

    // Files dropped on the chat go to the message box's uploader.
    const box = ref(null);
    const dragging = ref(false);
    function onDrop(ev) {
      dragging.value = false;
      const files = [...(ev.dataTransfer?.files || [])];
      if (files.length) box.value?.upload(files);
    }
    const onDragOver = (ev) => {
      if ([...(ev.dataTransfer?.types || [])].includes('Files')) dragging.value = true;
    };

    onBeforeUnmount(() => {
      unwatchReads();
      clearTimeout(seenTimer);
      clearTimeout(flashTimer);
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onFocus);
    });
    readsOf(props.chatId);

    function scrollDown(force) {
      const el = scroller.value;
      if (!el) return;
      const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
      if (force || nearBottom) nextTick(() => (el.scrollTop = el.scrollHeight));
    }
    watch(() => entries.value.length, () => scrollDown(false));
    onMounted(() => {
      scrollDown(true);
      checkSeen();
      flash();
    });

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
      checkSeen();
    }

    return { state, scroller, entries, tab, topic, hist, typing, isMine, nameOf, senderOf, actorOf, formatTime, iso, older,
      onScroll, dividerKey, flashKey, box, dragging, onDrop, onDragOver };
  },
  template: `
    <section class="chatr-chat" :class="{ 'is-dragging': dragging }" :aria-label="tab ? tab.name : ''"
             @dragover.prevent="onDragOver" @dragleave.self="dragging = false" @drop.prevent="onDrop">
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
          <p v-if="e.key === dividerKey" class="chatr-divider" data-testid="new-divider"><span>new messages</span></p>
          <p v-if="e.kind === 'notice'" class="chatr-notice" data-testid="notice" :data-key="e.key"
             :data-id="e.id" :title="formatTime(e.time)">{{ e.text }}</p>
          <div v-else-if="e.action" class="chatr-message is-action" data-testid="message" :data-key="e.key"
               :data-id="e.id" :data-from="e.actorId">
            <p class="chatr-action">
              <span data-testid="text">* {{ actorOf(e) }} {{ e.text }}</span>
              <time class="chatr-time ml-2" :datetime="iso(e.time)">{{ formatTime(e.time) }}</time>
            </p>
          </div>
          <message-item v-else :entry="e" :chat-id="chatId" :class="{ 'is-flash': e.key === flashKey }"></message-item>
        </template>
      </div>
      <p class="chatr-typing" data-testid="typing" aria-live="polite">{{ typing }}</p>
      <message-box ref="box" :chat-id="chatId"></message-box>
    </section>
  `,
};
