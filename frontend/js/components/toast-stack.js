// toast-stack.js: the toasts of notify.js, newest at the bottom; a click dismisses one and does
// its action, if it has one (a mention's opens the chat at that message).
import { state } from '../store.js';
import { dismiss, clickToast } from '../notify.js';

export default {
  setup() {
    return { state, dismiss, clickToast };
  },
  template: `
    <div class="chatr-toasts" aria-live="polite">
      <div v-for="t in state.toasts" :key="t.id" class="notification chatr-toast" :class="'is-' + t.kind"
           data-testid="toast" :data-action="t.action ? 'open' : null" @click="clickToast(t)">
        <button class="delete" aria-label="dismiss" @click.stop="dismiss(t.id)"></button>
        {{ t.text }}
      </div>
    </div>
  `,
};
