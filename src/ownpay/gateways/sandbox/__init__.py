"""The ``sandbox`` gateway: adapter, mapping (pure) and checkout fragment (templates/)."""
