"""The ``sandbox`` gateway: its adapter, checkout fragment (templates/) and browser code."""
