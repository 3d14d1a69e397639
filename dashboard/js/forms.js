"use strict";
/** What the forms that start runs share: starting one and opening it, and a busy state with errors. */

import { api } from "./api.js";
import { replaceChildren } from "./dom.js";
import { errorNotice } from "./render.js";

/** Start a run and open it. */
export async function startRun(body, signal) {
  const accepted = await api("/runs", { method: "POST", body, signal });
  location.hash = `#/runs/${accepted.id}`;
}

/**
 * Disable a form's buttons while `action` runs; show its error under the form.
 * @param {HTMLFormElement} form
 * @param {HTMLElement} messages
 * @param {() => Promise<void>} action
 */
export async function busy(form, messages, action) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((button) => (button.disabled = true));
  replaceChildren(messages);
  try {
    await action();
  } catch (error) {
    if (error.name !== "AbortError") replaceChildren(messages, errorNotice(error));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}
