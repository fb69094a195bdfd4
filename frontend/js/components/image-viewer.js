// image-viewer.js: an image shared in a chat, full size, over the page (Bulma modal); a click
// anywhere or Esc closes it.
import { onMounted, onBeforeUnmount } from 'vue';
import { state } from '../store.js';

export default {
  setup() {
    const close = () => (state.viewer = null);
    const onKey = (ev) => {
      if (ev.key === 'Escape') close();
    };
    onMounted(() => document.addEventListener('keydown', onKey));
    onBeforeUnmount(() => document.removeEventListener('keydown', onKey));
    return { state, close };
  },
  template: `
    <div class="modal is-active chatr-viewer" role="dialog" aria-modal="true" data-testid="image-viewer" @click="close">
      <div class="modal-background"></div>
      <div class="modal-content chatr-viewer-content">
        <img :src="state.viewer.url" :alt="state.viewer.name" data-testid="full-image">
        <p class="has-text-white has-text-centered is-size-7 mt-1">{{ state.viewer.name }}</p>
      </div>
      <button class="modal-close is-large" aria-label="close" @click.stop="close"></button>
    </div>
  `,
};
