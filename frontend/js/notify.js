// notify.js: telling the user things: toasts in the page, browser notifications (only after
// the user allowed them, only while the page is hidden or for private chats), and the unread
// total in the page title.
import { watch } from 'vue';
import { state, totalUnread } from './store.js';

const TOAST_MS = 5000;
const TITLE = 'Chatr';
let toastSeq = 0;

// kind: 'info' | 'success' | 'warning' | 'danger' | 'link'; action: what a click on it does (it
// goes either way).
export function toast(text, kind = 'info', ms = TOAST_MS, action = null) {
  const id = ++toastSeq;
  state.toasts.push({ id, text, kind, action });
  if (state.toasts.length > 5) state.toasts.shift();
  if (ms > 0) setTimeout(() => dismiss(id), ms);
  return id;
}

export function dismiss(id) {
  const i = state.toasts.findIndex((t) => t.id === id);
  if (i >= 0) state.toasts.splice(i, 1);
}

export function clickToast(t) {
  dismiss(t.id);
  if (typeof t.action === 'function') t.action();
}

export const notificationsSupported = () => 'Notification' in window;
export const notificationsAllowed = () => notificationsSupported() && Notification.permission === 'granted';

// Must run from a user gesture (a click).
export async function askNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported';
  return Notification.requestPermission();
}

// A browser notification; clicking it focuses the page and calls onClick.
export function browserNotify(title, body, onClick) {
  if (!notificationsAllowed()) return;
  try {
    const n = new Notification(title, { body, tag: `chatr-${title}` });
    n.onclick = () => {
      window.focus();
      if (onClick) onClick();
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker; toasts remain.
  }
}

export function watchTitle() {
  watch(totalUnread, (n) => {
    document.title = n > 0 ? `(${n}) ${TITLE}` : TITLE;
  }, { immediate: true });
}
