// main.js: start-up. Signed-out visitors go to the login page; otherwise mount the app, open
// the socket and start the idle watcher, typing sweeper and title updates.
import { createApp } from 'vue';
import * as api from './api.js';
import { state, openTab, savedTabs, clearUnread } from './store.js';
import { connect, onOpened } from './connection.js';
import { handleFrame } from './incoming.js';
import { watchIdle, idleTimeoutMs } from './idle.js';
import { startTypingSweeper } from './typing.js';
import { watchTitle } from './notify.js';
import { setIdle } from './actions.js';
import AppRoot from './components/app-root.js';

async function main() {
  let principal;
  try {
    principal = await api.getMe();
  } catch {
    principal = null;
  }
  if (!principal) {
    location.replace(api.LOGIN_PAGE);
    return;
  }
  state.me = {
    userId: principal.userId,
    userName: principal.userDetails || 'user',
    userProvider: principal.identityProvider || 'unknown',
  };

  const saved = savedTabs();
  for (const t of saved.tabs || []) openTab(t.id, t.name, { focus: false, isPrivate: !!t.private });
  if (saved.active && state.tabs.some((t) => t.id === saved.active)) state.active = saved.active;

  createApp({ components: { AppRoot } }).mount('#app');
  watchTitle();
  startTypingSweeper();
  document.addEventListener('visibilitychange', () => {
    if (state.active && !document.hidden) clearUnread(state.active);
  });

  const idle = watchIdle({ timeoutMs: idleTimeoutMs(), onIdle: () => setIdle(true), onActive: () => setIdle(false) });
  onOpened(() => {
    if (idle.idle) setIdle(true); // the server marks a fresh connection active
  });
  connect(handleFrame);
}

main();
