// message-box.js: where a message is written: Enter sends, Shift+Enter starts a new line;
// keystrokes drive the typing indicator.
import { ref } from 'vue';
import { state } from '../store.js';
import { sendMessage, typingIn, stoppedTypingIn, MESSAGE_MAX } from '../actions.js';

export default {
  props: { chatId: { type: String, required: true } },
  setup(props) {
    const text = ref('');
    const input = ref(null);
    async function send() {
      const t = text.value;
      if (!t.trim()) return;
      text.value = '';
      if (!(await sendMessage(props.chatId, t)) && !text.value) text.value = t;
      input.value?.focus();
    }
    function onInput() {
      if (text.value) typingIn(props.chatId);
      else stoppedTypingIn(props.chatId);
    }
    function onKey(ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        send();
      }
    }
    return { state, text, input, send, onInput, onKey, MESSAGE_MAX };
  },
  template: `
    <form class="chatr-compose" @submit.prevent="send">
      <div class="field has-addons mb-0">
        <div class="control is-expanded">
          <textarea class="textarea chatr-input" rows="1" ref="input" v-model="text" :maxlength="MESSAGE_MAX"
                    placeholder="Write a message…" aria-label="message" data-testid="message-input"
                    @input="onInput" @keydown="onKey"></textarea>
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
