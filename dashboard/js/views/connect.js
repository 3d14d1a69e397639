"use strict";
/**
 * Connect a client: copy-paste configuration for the common MCP clients and for A2A agents, built from this
 * page's own origin. The user's API key is never written into a snippet (a placeholder stands in its place),
 * so nothing copied from here leaks a secret into a file that may end up in a repository.
 *
 * Each client's shape was checked against its own documentation:
 * - Cursor: `mcpServers` with `url` and `headers` (cursor.com/docs/mcp).
 * - Claude Desktop: claude_desktop_config.json takes stdio servers only, so a remote server goes through the
 *   `mcp-remote` bridge; its README puts the header in an env variable because Claude Desktop on Windows and
 *   Cursor do not escape spaces inside args (github.com/geelen/mcp-remote, README "Custom headers").
 * - VS Code: `.vscode/mcp.json` with top-level `servers`, `"type": "http"`, `url`, `headers`
 *   (code.visualstudio.com/docs/agents/reference/mcp-configuration).
 * - Claude Code: `claude mcp add --transport http <name> <url> --header "Authorization: Bearer …"`, options before
 *   the name (code.claude.com/docs/en/mcp).
 * - A2A 1.0 (a2a-sdk 1.x): the card at /.well-known/agent-card.json, JSON-RPC method `SendMessage` with the
 *   `A2A-Version: 1.0` header, roles `ROLE_USER`/`ROLE_AGENT` (a2a-protocol.org/latest/specification).
 */

import { h, uniqueId } from "../dom.js";
import { pageHeader } from "../render.js";

export const connectView = { nav: "connect", title: "Connect a client", render };

/** Stands where the key goes: one recognisable string the user replaces, in every snippet. */
export const KEY_PLACEHOLDER = "<your API key>";
const SERVER_NAME = "agentic";
const SAMPLE_TASK = "What is the weather in Seattle?";

function json(value) {
  return JSON.stringify(value, null, 2);
}

/** The snippets for MCP clients, for the MCP endpoint at `url`. */
export function mcpSnippets(url) {
  const headers = { Authorization: `Bearer ${KEY_PLACEHOLDER}` };
  // mcp-remote refuses plain http to anything but localhost unless told; a plain-http ALB is such a case.
  const { protocol, hostname } = new URL(url);
  const insecure = protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(hostname);
  const bridgeArgs = ["-y", "mcp-remote", url, "--header", "Authorization:${AGENTIC_AUTH}"];
  if (insecure) bridgeArgs.push("--allow-http");
  return [
    {
      id: "cursor",
      title: "Cursor (and other clients that read mcpServers with a URL)",
      where: "~/.cursor/mcp.json, or .cursor/mcp.json in a project",
      language: "json",
      text: json({ mcpServers: { [SERVER_NAME]: { url, headers } } }),
    },
    {
      id: "claude-desktop",
      title: "Claude Desktop (through the mcp-remote bridge, for clients that speak stdio only)",
      where: "claude_desktop_config.json (Settings → Developer → Edit Config); needs Node.js for npx",
      language: "json",
      text: json({
        mcpServers: {
          [SERVER_NAME]: { command: "npx", args: bridgeArgs, env: { AGENTIC_AUTH: `Bearer ${KEY_PLACEHOLDER}` } },
        },
      }),
    },
    {
      id: "vscode",
      title: "VS Code",
      where: ".vscode/mcp.json in the workspace",
      language: "json",
      text: json({ servers: { [SERVER_NAME]: { type: "http", url, headers } } }),
    },
    {
      id: "claude-code",
      title: "Claude Code",
      where: "a terminal",
      language: "shell",
      text: `claude mcp add --transport http ${SERVER_NAME} ${url} --header "Authorization: Bearer ${KEY_PLACEHOLDER}"`,
    },
  ];
}

/** The snippets for A2A clients, for the agent at `origin`. */
export function a2aSnippets(origin) {
  const send = {
    jsonrpc: "2.0",
    id: 1,
    method: "SendMessage",
    params: { message: { messageId: "1", role: "ROLE_USER", parts: [{ text: SAMPLE_TASK }] } },
  };
  const python = [
    "import asyncio",
    "",
    "import httpx",
    "from a2a.client import ClientConfig, create_client",
    "from a2a.helpers import new_text_message",
    "from a2a.types import Role, SendMessageRequest",
    "",
    "",
    "async def main() -> None:",
    `    headers = {"Authorization": "Bearer ${KEY_PLACEHOLDER}"}`,
    "    async with httpx.AsyncClient(headers=headers, timeout=None) as http:",
    "        # Reads the agent card at /.well-known/agent-card.json, then speaks the binding it names.",
    `        client = await create_client("${origin}", ClientConfig(httpx_client=http))`,
    `        message = new_text_message("${SAMPLE_TASK}", role=Role.ROLE_USER)`,
    "        async for event in client.send_message(SendMessageRequest(message=message)):",
    "            print(event)",
    "",
    "",
    "asyncio.run(main())",
  ].join("\n");
  return [
    {
      id: "a2a-python",
      title: "Send a task with the A2A Python SDK",
      where: "pip install a2a-sdk httpx; streams the task's updates until it ends",
      language: "python",
      text: python,
    },
    {
      id: "a2a-curl",
      title: "Send a task with curl (JSON-RPC)",
      where: "a terminal; the answer is the task, with its state and artifacts",
      language: "shell",
      text: [
        `curl -s ${origin}/api/a2a \\`,
        `  -H "Authorization: Bearer ${KEY_PLACEHOLDER}" \\`,
        '  -H "Content-Type: application/json" -H "A2A-Version: 1.0" \\',
        `  -d '${JSON.stringify(send)}'`,
      ].join("\n"),
    },
  ];
}

/** Copy `text`; where the Clipboard API is missing (plain http is not a secure context), select it instead. */
async function copy(text, pre, status) {
  try {
    if (!navigator.clipboard) throw new Error("no clipboard");
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied.";
  } catch {
    window.getSelection().selectAllChildren(pre);
    status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
}

function snippetCard(snippet) {
  const titleId = uniqueId(`snippet-${snippet.id}`);
  const pre = h("pre", { class: "json", tabindex: "0", "aria-labelledby": titleId }, h("code", {}, snippet.text));
  const status = h("span", { class: "muted", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      class: "button",
      "aria-describedby": titleId,
      on: { click: () => copy(snippet.text, pre, status) },
    },
    "Copy",
  );
  return h(
    "article",
    { class: "card stack--tight", dataset: { snippet: snippet.id, language: snippet.language } },
    h(
      "div",
      { class: "card__header" },
      h("h3", { id: titleId }, snippet.title),
      h("span", { class: "actions" }, status, button),
    ),
    h("p", { class: "muted" }, snippet.where),
    pre,
  );
}

function render(root) {
  const origin = window.location.origin;
  const mcpUrl = `${origin}/api/mcp`;
  const cardUrl = `${origin}/.well-known/agent-card.json`;
  root.append(
    pageHeader(
      "Connect a client",
      "Use the platform's tools, templates and workflows from an MCP client or another agent, through one endpoint " +
        "with the same API keys, approvals and audit trail as this dashboard.",
    ),
    h(
      "p",
      { class: "notice" },
      `Replace ${KEY_PLACEHOLDER} with an API key of your own (python -m apps.agent_core.auth NAME ROLE prints a new ` +
        "one); a viewer key sees read-only tools only. When the agent core runs without keys (local mode), leave " +
        "the Authorization header out.",
    ),
    h(
      "section",
      { class: "section stack", "aria-labelledby": "connect-mcp" },
      h("h2", { id: "connect-mcp" }, "MCP clients"),
      h(
        "p",
        {},
        "The MCP endpoint is ",
        h("code", { id: "connect-mcp-url" }, mcpUrl),
        " (Streamable HTTP). Tools are named ",
        h("code", {}, "<server>__<tool>"),
        "; a destructive call waits for an approval on the Approvals page.",
      ),
      mcpSnippets(mcpUrl).map(snippetCard),
    ),
    h(
      "section",
      { class: "section stack", "aria-labelledby": "connect-a2a" },
      h("h2", { id: "connect-a2a" }, "A2A agents"),
      h(
        "p",
        {},
        "The agent card, which names the skills and the JSON-RPC endpoint, is at ",
        h("a", { id: "connect-a2a-card", href: cardUrl }, cardUrl),
        ". A task waiting for an approval is ",
        h("code", {}, "input-required"),
        " until someone decides.",
      ),
      a2aSnippets(origin).map(snippetCard),
    ),
  );
}
