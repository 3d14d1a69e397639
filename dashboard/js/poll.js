"use strict";
/** Refreshing a view on a timer, only while the page is visible, until the view's signal aborts. */

/**
 * Call `refresh` now, then `intervalMs` after each call completes while the tab is visible; when the tab
 * becomes visible again, refresh at once. Calls never overlap.
 * @param {() => Promise<void>} refresh Must not throw (show errors in the view).
 * @param {number} intervalMs
 * @param {AbortSignal} signal
 */
export function pollWhileVisible(refresh, intervalMs, signal) {
  let timer = null;
  let running = false;

  async function tick() {
    clearTimeout(timer);
    if (signal.aborted || running) return;
    running = true;
    try {
      await refresh();
    } finally {
      running = false;
    }
    if (!signal.aborted && document.visibilityState === "visible") timer = setTimeout(tick, intervalMs);
  }

  const onVisibility = () => {
    if (document.visibilityState === "visible") tick();
    else clearTimeout(timer);
  };
  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener(
    "abort",
    () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    },
    { once: true },
  );
  tick();
}
