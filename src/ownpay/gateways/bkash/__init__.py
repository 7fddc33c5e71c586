"""The ``bkash`` gateway: adapter (flow), mapping (pure), messages, client (calls and tokens
through the provider executor) and checkout fragment (templates/)."""
