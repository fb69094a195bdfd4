// idle.js: idle detection. No keyboard, mouse, touch or scroll input for `timeoutMs` → onIdle();
// the first input after that → onActive(). The caller shares the state (userEnterIdle/Exit).

const INPUTS = ['mousemove', 'mousedown', 'keydown', 'touchstart', 'wheel', 'scroll', 'focus'];

export function watchIdle({ timeoutMs, onIdle, onActive }) {
  let idle = false;
  let timer = null;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      onIdle();
    }, timeoutMs);
  };
  const input = () => {
    if (idle) {
      idle = false;
      onActive();
    }
    arm();
  };
  for (const ev of INPUTS) window.addEventListener(ev, input, { passive: true, capture: true });
  arm();
  return {
    get idle() {
      return idle;
    },
    stop() {
      clearTimeout(timer);
      for (const ev of INPUTS) window.removeEventListener(ev, input, { capture: true });
    },
  };
}

// The idle timeout: 60 s, or ?idleSeconds=N in the page URL (for trying it out and for tests).
export function idleTimeoutMs() {
  const n = Number(new URLSearchParams(location.search).get('idleSeconds'));
  return n > 0 ? n * 1000 : 60000;
}
