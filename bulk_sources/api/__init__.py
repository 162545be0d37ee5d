"""The Console API: protocol facts shared with the stand-in, the key, and the client."""
