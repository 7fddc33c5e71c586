"""The ``stripe`` gateway: its adapter, checkout fragment (templates/) and browser code."""
