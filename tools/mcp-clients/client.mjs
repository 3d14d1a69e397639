// The official TypeScript SDK's client (@modelcontextprotocol/sdk, pinned in package.json) as a small command line,
// so Python tests can drive a client nobody here wrote over Streamable HTTP.
//
//   MCP_BEARER_TOKEN=<key> node client.mjs <url> list | call <tool> <json arguments> | read <uri> [more commands...]
//
// Several commands run in order over one connection (one node start-up, one handshake). Each, and the handshake
// first, prints one JSON line: {"command": "...", "result": <the SDK's result>}. The key is read from the environment so it stays off the
// process list. The first failure prints {"command": ..., "error": ...} and exits 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function parseCommands(words) {
  const commands = [];
  for (let i = 0; i < words.length; ) {
    const verb = words[i];
    if (verb === "list") {
      commands.push({ verb });
      i += 1;
    } else if (verb === "call" && i + 2 < words.length) {
      commands.push({ verb, name: words[i + 1], arguments: JSON.parse(words[i + 2]) });
      i += 3;
    } else if (verb === "read" && i + 1 < words.length) {
      commands.push({ verb, uri: words[i + 1] });
      i += 2;
    } else {
      throw new Error(`cannot read command at ${JSON.stringify(words.slice(i))}: expected list | call <tool> <json> | read <uri>`);
    }
  }
  return commands;
}

async function run(client, command) {
  if (command.verb === "list") return client.listTools();
  if (command.verb === "call") return client.callTool({ name: command.name, arguments: command.arguments });
  return client.readResource({ uri: command.uri });
}

const [url, ...words] = process.argv.slice(2);
if (!url || words.length === 0) {
  console.error("usage: node client.mjs <url> list | call <tool> <json> | read <uri> [...]");
  process.exit(2);
}
const commands = parseCommands(words);
const token = process.env.MCP_BEARER_TOKEN;
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
});
const client = new Client({ name: "agentic-workflows-ts-sdk-check", version: "1.0.0" });
let failed = false;
try {
  await client.connect(transport);
  // What the handshake settled, so a test can say which revision this client spoke.
  const handshake = {
    protocolVersion: transport.protocolVersion,
    serverInfo: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
  };
  console.log(JSON.stringify({ command: "connect", result: handshake }));
  for (const command of commands) {
    const label = [command.verb, command.name ?? command.uri].filter(Boolean).join(" ");
    try {
      console.log(JSON.stringify({ command: label, result: await run(client, command) }));
    } catch (error) {
      console.log(JSON.stringify({ command: label, error: String(error?.message ?? error) }));
      failed = true;
      break;
    }
  }
} catch (error) {
  console.log(JSON.stringify({ command: "connect", error: String(error?.message ?? error) }));
  failed = true;
} finally {
  await client.close();
}
process.exit(failed ? 1 : 0);
