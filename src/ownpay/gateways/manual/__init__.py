"""The ``manual`` gateway: adapter, mapping (pure) and checkout fragment (templates/)."""
