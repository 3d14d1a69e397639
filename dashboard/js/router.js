"use strict";
/**
 * Hash routes (`#/runs/<id>`): they work from a static file server with no rewrites, and links to
 * any run can be shared. Each view is `render(root, params, signal)`; the signal aborts when the user
 * navigates away, which stops the view's requests, streams and timers.
 */

import { errorNotice } from "./render.js";

/**
 * @typedef {{nav: string, title: string, render: (root: HTMLElement, params: Object<string, string>,
 *   signal: AbortSignal) => (void|Promise<void>)}} View
 * @typedef {{pattern: string, view: View}} Route
 */

export class Router {
  /**
   * @param {HTMLElement} root Where views render.
   * @param {Route[]} routes Patterns like "/runs/:id"; the first match wins.
   * @param {View} notFound
   */
  constructor(root, routes, notFound) {
    this.root = root;
    this.routes = routes.map(({ pattern, view }) => ({ view, ...compile(pattern) }));
    this.notFound = notFound;
    this.controller = null;
    this.path = null;
    this.firstRender = true;
  }

  start() {
    window.addEventListener("hashchange", () => this.render());
    this.render();
  }

  /** Render the current route again (after an API key was entered, say). */
  refresh() {
    this.show(this.path ?? "/");
  }

  render() {
    const hash = location.hash;
    // In-page anchors such as the skip link's #main are not routes: the current view stays.
    if (hash && !hash.startsWith("#/") && this.path) return;
    this.show(hash.startsWith("#/") ? safeDecode(hash.slice(1)) : "/");
  }

  /** @param {string} path */
  show(path) {
    this.controller?.abort();
    this.controller = new AbortController();
    this.path = path;
    const { view, params } = this.match(path);
    document.title = `${view.title} · Agentic Workflows`;
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === view.nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    this.root.replaceChildren();
    // Views put their heading in place before their first await and show their own errors; anything
    // they miss still reaches the page rather than the console.
    const signal = this.controller.signal;
    Promise.resolve(view.render(this.root, params, signal)).catch((error) => {
      if (!signal.aborted) this.root.append(errorNotice(error));
    });
    // Move focus to the new page's heading (not on first load), so screen readers announce it.
    if (!this.firstRender) this.root.querySelector("h1")?.focus();
    this.firstRender = false;
  }

  match(path) {
    for (const route of this.routes) {
      const found = route.regex.exec(path);
      if (found) {
        const params = Object.fromEntries(route.names.map((name, index) => [name, found[index + 1]]));
        return { view: route.view, params };
      }
    }
    return { view: this.notFound, params: { path } };
  }
}

function safeDecode(text) {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  return { regex: new RegExp(`^${source}/?$`), names };
}
