// message-box.js: where a message is written: Enter sends, Shift+Enter starts a new line;
// keystrokes drive the typing indicator; "@" offers the chat's members (mention-input.js);
// files come in by the attach button, by pasting or by dropping them on the chat, and are
// uploaded with their progress shown (docs/chat-features.md#in-the-web-app).
import { ref, reactive } from 'vue';
import { state } from '../store.js';
import { sendMessage, typingIn, stoppedTypingIn, shareFile, MESSAGE_MAX } from '../actions.js';
import { useMentions, MentionMenu } from '../mention-input.js';
import { formatSize } from '../util.js';

const UPLOADS_AT_ONCE_MAX = 5; // files taken from one drop or paste
const UPLOAD_ERROR_MS = 8000;  // how long a failed upload stays listed

export default {
  components: { MentionMenu },
  props: { chatId: { type: String, required: true } },
  setup(props, { expose }) {
    const text = ref('');
    const input = ref(null);
    const picker = ref(null);
    const m = useMentions(text, input, () => props.chatId);
    const uploads = reactive([]); // [{key, name, size, progress, error}]
    let uploadSeq = 0;

    async function send() {
      const t = text.value;
      if (!t.trim()) return;
      const { text: wire, mentions } = m.wire();
      const picked = new Map(m.picked);
      text.value = '';
      m.reset();
      if (!(await sendMessage(props.chatId, wire, mentions)) && !text.value) {
        text.value = t;
        for (const [k, v] of picked) m.picked.set(k, v);
      }
      input.value?.focus();
    }
    function onInput() {
      m.update();
      if (text.value) typingIn(props.chatId);
      else stoppedTypingIn(props.chatId);
    }
    function onKey(ev) {
      if (m.onKey(ev)) return;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        send();
      }
    }

    async function uploadOne(file) {
      const u = reactive({ key: ++uploadSeq, name: file.name || 'pasted file', size: file.size, progress: 0, error: null });
      uploads.push(u);
      const err = await shareFile(props.chatId, file, (f) => (u.progress = f));
      if (!err) return uploads.splice(uploads.indexOf(u), 1);
      u.error = err;
      setTimeout(() => {
        const i = uploads.indexOf(u);
        if (i >= 0) uploads.splice(i, 1);
      }, UPLOAD_ERROR_MS);
    }
    function upload(files) {
      for (const f of [...files].slice(0, UPLOADS_AT_ONCE_MAX)) uploadOne(f);
    }
    function onPaste(ev) {
      const files = [...(ev.clipboardData?.files || [])];
      if (!files.length) return;
      ev.preventDefault();
      upload(files);
    }
    function onPicked(ev) {
      upload(ev.target.files || []);
      ev.target.value = '';
    }
    expose({ upload });
    return { state, text, input, picker, m, uploads, send, onInput, onKey, onPaste, onPicked, formatSize, MESSAGE_MAX };
  },
  template: `
    <form class="chatr-compose" @submit.prevent="send">
      <ul v-if="uploads.length" class="chatr-uploads">
        <li v-for="u in uploads" :key="u.key" class="chatr-upload" data-testid="upload" :class="{ 'has-text-danger': u.error }">
          <span class="icon is-small"><i :class="u.error ? 'fa-solid fa-triangle-exclamation' : 'fa-solid fa-upload'"></i></span>
          <span class="chatr-file-name">{{ u.name }}</span> <span class="chatr-file-size">{{ formatSize(u.size) }}</span>
          <span v-if="u.error" data-testid="upload-error">: {{ u.error }}</span>
          <progress v-else class="progress is-small is-primary chatr-progress" :value="Math.round(u.progress * 100)" max="100">
            {{ Math.round(u.progress * 100) }}%
          </progress>
        </li>
      </ul>
      <div class="field has-addons mb-0 chatr-compose-row">
        <div class="control">
          <button class="button chatr-attach" type="button" aria-label="attach a file" title="Attach a file"
                  data-testid="attach" :disabled="state.connection !== 'online'" @click="picker.click()">
            <span class="icon"><i class="fa-solid fa-paperclip"></i></span>
          </button>
          <input ref="picker" type="file" class="is-hidden" multiple data-testid="file-input" @change="onPicked">
        </div>
        <div class="control is-expanded chatr-compose-input">
          <textarea class="textarea chatr-input" rows="1" ref="input" v-model="text" :maxlength="MESSAGE_MAX"
                    placeholder="Write a message…" aria-label="message" data-testid="message-input"
                    @input="onInput" @keydown="onKey" @click="m.update" @paste="onPaste" @blur="m.close"></textarea>
          <mention-menu :m="m"></mention-menu>
        </div>
        <div class="control">
          <button class="button is-primary chatr-send" type="submit" aria-label="send"
                  :disabled="state.connection !== 'online' || !text.trim()">
            <span class="icon"><i class="fa-solid fa-paper-plane"></i></span>
          </button>
        </div>
      </div>
    </form>
  `,
};
