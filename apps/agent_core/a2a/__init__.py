"""The agent core as an A2A agent (the official a2a-sdk): card, JSON-RPC endpoint, tasks as runs."""
