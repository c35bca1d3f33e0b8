"""``ragcore serve``: one warm process serving search, ask and an OpenAI-compatible chat
endpoint over HTTP, with API keys that carry access groups, and a chat page."""
