"use strict";
/**
 * The API client: same-origin requests under /api, the API key from session storage, and errors as
 * `ApiError` with a message a person can read. A 401 also fires `agentic:unauthorized` on window so the
 * app can ask for a key; views only show the error.
 */

const KEY_STORAGE = "agentic.apiKey";

/** The API lives next to the dashboard (`/api`), so a relative URL keeps every request on this origin. */
export const API_BASE = new URL("api", document.baseURI).pathname;

export function getApiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** @param {string|null} key Store the key for this tab, or forget it with null. */
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  window.dispatchEvent(new CustomEvent("agentic:key-changed"));
}

/** Headers for every API call: the key, when there is one. */
export function authHeaders() {
  const key = getApiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, or 0 when the agent core could not be reached.
   * @param {string} code The API's error code (e.g. "forbidden").
   * @param {string} message
   * @param {Array<string|{field: string, message: string}>} [problems]
   */
  constructor(status, code, message, problems = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

/**
 * Turn a non-2xx response into an ApiError (and announce a 401).
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
export async function errorFromResponse(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status alone has to do.
  }
  const error = new ApiError(
    response.status,
    body.error || `http_${response.status}`,
    body.message || response.statusText || `HTTP ${response.status}`,
    Array.isArray(body.problems) ? body.problems : [],
  );
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("agentic:unauthorized", { detail: { hadKey: Boolean(getApiKey()) } }));
  }
  return error;
}

/**
 * Call the API.
 * @param {string} path Below /api, e.g. "/runs?status=running".
 * @param {{method?: string, body?: any, signal?: AbortSignal}} [options]
 * @returns {Promise<any>} The parsed JSON body (null for 204 No Content).
 */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "The agent core could not be reached. Check that it is running.");
  }
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return null; // DELETE's answer: done, nothing to say
  return response.json();
}

/**
 * A sentence for an error, in plain words.
 * @param {unknown} error
 */
export function describeError(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${error?.message ?? error}`;
  switch (error.status) {
    case 0:
      return error.message;
    case 401:
      return "An API key is needed for this.";
    case 403:
      return `Your API key is not allowed to do this (${error.message}). Ask for a key with the right role.`;
    case 404:
      return "Not found: there is nothing here with that id.";
    case 409:
      return `That could not be done right now: ${error.message}.`;
    case 410:
      return `Too late: ${error.message}.`;
    case 503:
      return `The agent core is not able to answer right now: ${error.message}.`;
    default:
      if (error.status >= 500) return `The agent core had a problem (HTTP ${error.status}): ${error.message}.`;
      return error.message;
  }
}

/** Problems as readable strings ("field: message"). */
export function problemTexts(error) {
  if (!(error instanceof ApiError)) return [];
  return error.problems.map((p) => (typeof p === "string" ? p : `${p.field}: ${p.message}`));
}
