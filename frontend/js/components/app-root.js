// app-root.js: the page layout: top bar, connection banner, sidebar (chats, private chats,
// users) and the open chats; toasts and the image viewer float above everything.
import { state } from '../store.js';
import NavBar from './nav-bar.js';
import ConnBanner from './conn-banner.js';
import ChatList from './chat-list.js';
import PrivateList from './private-list.js';
import UserList from './user-list.js';
import ChatTabs from './chat-tabs.js';
import ChatView from './chat-view.js';
import ToastStack from './toast-stack.js';
import ImageViewer from './image-viewer.js';

export default {
  components: { NavBar, ConnBanner, ChatList, PrivateList, UserList, ChatTabs, ChatView, ToastStack, ImageViewer },
  setup() {
    return { state };
  },
  template: `
    <nav-bar></nav-bar>
    <conn-banner></conn-banner>
    <div class="chatr-body">
      <aside class="chatr-sidebar" :class="{ 'is-open': state.sidebarOpen }">
        <chat-list></chat-list>
        <private-list></private-list>
        <user-list></user-list>
      </aside>
      <main class="chatr-main">
        <chat-tabs></chat-tabs>
        <chat-view v-if="state.active" :key="state.active" :chat-id="state.active"></chat-view>
        <div v-else class="chatr-empty has-text-grey">
          <p><span class="icon is-large"><i class="fa-regular fa-comments fa-2x"></i></span></p>
          <p>Join a chat or click a user to talk in private.</p>
          <button class="button is-primary is-light mt-3 is-hidden-tablet" @click="state.sidebarOpen = true">
            Chats and users
          </button>
        </div>
      </main>
    </div>
    <image-viewer v-if="state.viewer"></image-viewer>
    <toast-stack></toast-stack>
  `,
};
