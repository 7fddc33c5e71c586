"""The ``stripe`` gateway: adapter (flow), mapping (pure), client (the SDK over the provider
executor), webhooks, config, checkout fragment (templates/) and browser code (static/)."""
