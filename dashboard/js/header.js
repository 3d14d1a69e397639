"use strict";
/** The header's reasoner chip: which reasoner plans tasks, visible on every page. */

import { api } from "./api.js";

/** @param {{name: string, model: string|null}} reasoner */
export function showReasoner(reasoner) {
  const chip = document.getElementById("reasoner-name");
  chip.textContent = reasoner.model ? `${reasoner.name} · ${reasoner.model}` : reasoner.name;
}

/** Fill the chip from /api/health; an error leaves it as it was (views report errors themselves). */
export async function loadReasoner() {
  try {
    showReasoner((await api("/health")).reasoner);
  } catch {
    // 401 opens the key dialog; anything else shows on the page the user is looking at.
  }
}
