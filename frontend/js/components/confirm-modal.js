// confirm-modal.js: a yes/no dialog (Bulma modal); the question is the slot.
export default {
  props: { title: String, confirmLabel: { type: String, default: 'OK' } },
  emits: ['confirm', 'cancel'],
  mounted() {
    this.$refs.cancel.focus();
  },
  template: `
    <div class="modal is-active" role="dialog" aria-modal="true" @keydown.esc="$emit('cancel')">
      <div class="modal-background" @click="$emit('cancel')"></div>
      <div class="modal-card chatr-modal">
        <header class="modal-card-head"><p class="modal-card-title">{{ title }}</p></header>
        <section class="modal-card-body"><slot></slot></section>
        <footer class="modal-card-foot buttons is-right">
          <button class="button" ref="cancel" @click="$emit('cancel')">Cancel</button>
          <button class="button is-danger" data-testid="confirm" @click="$emit('confirm')">{{ confirmLabel }}</button>
        </footer>
      </div>
    </div>
  `,
};
