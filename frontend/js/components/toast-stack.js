// toast-stack.js: the toasts of notify.js, newest at the bottom; click to dismiss.
import { state } from '../store.js';
import { dismiss } from '../notify.js';

export default {
  setup() {
    return { state, dismiss };
  },
  template: `
    <div class="chatr-toasts" aria-live="polite">
      <div v-for="t in state.toasts" :key="t.id" class="notification chatr-toast" :class="'is-' + t.kind"
           data-testid="toast" @click="dismiss(t.id)">
        <button class="delete" aria-label="dismiss" @click.stop="dismiss(t.id)"></button>
        {{ t.text }}
      </div>
    </div>
  `,
};
