// conn-banner.js: shows that the connection is being made or was lost (and is retried).
import { state } from '../store.js';

export default {
  setup() {
    return { state };
  },
  template: `
    <div v-if="state.connection === 'offline'" class="notification is-warning is-radiusless mb-0 chatr-banner"
         role="alert" data-testid="connection-lost">
      <span class="icon"><i class="fa-solid fa-plug-circle-xmark"></i></span>
      Connection lost. Reconnecting…
    </div>
    <div v-else-if="state.connection === 'connecting'" class="notification is-info is-light is-radiusless mb-0 chatr-banner"
         role="status" data-testid="connecting">
      <span class="icon"><i class="fa-solid fa-spinner fa-spin"></i></span>
      Connecting…
    </div>
  `,
};
