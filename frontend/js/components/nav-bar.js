// nav-bar.js: the top bar: message search, who is signed in and how, notification permission,
// sign out, and
// (on a phone) the button that shows the chat and user lists.
import { ref } from 'vue';
import { state } from '../store.js';
import { LOGOUT_URL } from '../api.js';
import { askNotificationPermission, notificationsSupported, toast } from '../notify.js';
import SearchBox from './search-box.js';

const PROVIDER_ICONS = {
  github: 'fa-brands fa-github',
  aad: 'fa-brands fa-microsoft',
  twitter: 'fa-brands fa-x-twitter',
  google: 'fa-brands fa-google',
  guest: 'fa-solid fa-user-secret',
  local: 'fa-solid fa-user',
};

export default {
  components: { SearchBox },
  setup() {
    const permission = ref(notificationsSupported() ? Notification.permission : 'unsupported');
    const providerIcon = () => PROVIDER_ICONS[state.me.userProvider] || 'fa-solid fa-user';
    async function enableNotifications() {
      permission.value = await askNotificationPermission();
      if (permission.value === 'granted') toast('Notifications enabled', 'success');
    }
    return { state, permission, providerIcon, enableNotifications, LOGOUT_URL };
  },
  template: `
    <nav class="navbar is-dark chatr-navbar" aria-label="main navigation">
      <div class="navbar-brand">
        <button class="button is-dark chatr-sidebar-toggle" aria-label="chats and users"
                @click="state.sidebarOpen = !state.sidebarOpen">
          <span class="icon"><i class="fa-solid fa-bars"></i></span>
        </button>
        <span class="navbar-item chatr-brand">
          <span class="icon"><i class="fa-solid fa-comments"></i></span><strong>Chatr</strong>
        </span>
      </div>
      <search-box></search-box>
      <div class="chatr-navbar-end">
        <span class="navbar-item chatr-me" data-testid="me" :title="'Signed in with ' + state.me.userProvider">
          <span class="icon"><i :class="providerIcon()"></i></span>
          <span class="chatr-me-name">{{ state.me.userName }}</span>
          <span class="tag is-light is-rounded ml-2 chatr-provider">{{ state.me.userProvider }}</span>
        </span>
        <button v-if="permission === 'default'" class="button is-dark" title="Enable notifications"
                aria-label="enable notifications" @click="enableNotifications">
          <span class="icon"><i class="fa-regular fa-bell"></i></span>
        </button>
        <a class="button is-dark" :href="LOGOUT_URL" data-testid="sign-out" title="Sign out">
          <span class="icon"><i class="fa-solid fa-right-from-bracket"></i></span>
          <span class="is-hidden-mobile">Sign out</span>
        </a>
      </div>
    </nav>
  `,
};
