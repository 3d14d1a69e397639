"use strict";
/**
 * Building DOM safely: every piece of data becomes a text node or a property, never markup.
 * Nothing in the dashboard assigns innerHTML, so a tool result cannot inject script or style.
 */

/**
 * Create an element.
 * @param {string} tag
 * @param {Object<string, any>} [props] class, text, on: {event: handler}, dataset: {...}; other keys
 *   become attributes (true → empty attribute, false/null/undefined → omitted).
 * @param {...(Node|string|number|null|undefined|false|Array)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = String(value);
    else if (key === "on")
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "value" || key === "checked" || key === "open" || key === "disabled") element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/**
 * Append children (nested arrays allowed; null, undefined and false are skipped).
 * @param {Node} parent
 * @param {Array} children
 */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `parent`. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

let uniqueCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** @param {number|null|undefined} ms */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** @param {number|null|undefined} epochSeconds */
export function formatTime(epochSeconds) {
  if (!epochSeconds) return "—";
  return dateTime.format(new Date(epochSeconds * 1000));
}

/** "in 14 min", "3 min ago" for an epoch-seconds instant. */
export function formatRelative(epochSeconds) {
  const seconds = Math.round(epochSeconds - Date.now() / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86_400), "day");
}

/** @param {number} n */
export function formatNumber(n) {
  return new Intl.NumberFormat().format(n);
}

/** Human words for a machine status: "awaiting_approval" → "awaiting approval". */
export function words(status) {
  return String(status).replaceAll("_", " ");
}
