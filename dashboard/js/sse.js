"use strict";
/**
 * Following a run's Server-Sent Events with fetch() and a streaming reader. EventSource cannot send the
 * Authorization header, so the stream is parsed here; after a dropped connection it resumes with
 * Last-Event-ID, backing off, a bounded number of times.
 */

import { API_BASE, ApiError, authHeaders, errorFromResponse } from "./api.js";

const MAX_RECONNECTS = 8;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;

/**
 * @typedef {{seq: number, type: string, at: number, data: Object}} RunEvent
 */

/**
 * Parse SSE text into messages; returns the messages and the unparsed remainder.
 * @param {string} buffer
 * @returns {{messages: Array<{id?: string, event?: string, data: string}>, rest: string}}
 */
function parseEventStream(buffer) {
  const normalized = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalized.split("\n\n");
  const rest = blocks.pop() ?? "";
  const messages = [];
  for (const block of blocks) {
    const message = { data: "" };
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue; // comments are keep-alive pings
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "id" || field === "event") message[field] = value;
    }
    if (data.length) {
      message.data = data.join("\n");
      messages.push(message);
    }
  }
  return { messages, rest };
}

/**
 * One connection: read events until the server closes the stream.
 * @returns {Promise<{received: number, finished: boolean, lastId: number}>}
 */
async function readOnce(runId, lastId, onEvent, onOpen, signal) {
  const headers = { Accept: "text/event-stream", ...authHeaders() };
  if (lastId > 0) headers["Last-Event-ID"] = String(lastId);
  const response = await fetch(`${API_BASE}/runs/${encodeURIComponent(runId)}/events`, {
    headers,
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await errorFromResponse(response);
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let received = 0;
  let finished = false;
  try {
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parsed = parseEventStream(buffer);
      buffer = parsed.rest;
      for (const message of parsed.messages) {
        /** @type {RunEvent} */
        const event = JSON.parse(message.data);
        lastId = Number(message.id ?? event.seq);
        received += 1;
        onEvent(event);
        if (event.type === "run_finished") finished = true;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return { received, finished, lastId };
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  });

/**
 * Follow a run's events until it finishes or the signal aborts. Resolves then; rejects with an ApiError
 * for a 4xx answer (a retry would not fix it) or after too many reconnects in a row that brought nothing.
 * @param {string} runId
 * @param {{after?: number, onEvent: (event: RunEvent) => void, onOpen?: () => void,
 *   onReconnecting?: (attempt: number) => void, signal: AbortSignal}} options
 *   `onOpen` is called each time a connection is established (again).
 */
export async function followRunEvents(
  runId,
  { after = 0, onEvent, onOpen = () => {}, onReconnecting = () => {}, signal },
) {
  let lastId = after;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const outcome = await readOnce(runId, lastId, onEvent, onOpen, signal);
      lastId = outcome.lastId;
      if (outcome.finished) return;
      // Closed before the run finished (a proxy's idle timeout, a restart): resume where it stopped.
      if (outcome.received > 0) {
        failures = 0;
        continue;
      }
      failures += 1;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
      failures += 1;
    }
    if (failures > MAX_RECONNECTS) {
      throw new ApiError(0, "stream_lost", "Lost the live connection to the run; reload the page to try again.");
    }
    onReconnecting(failures);
    await sleep(Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS), signal);
  }
}
