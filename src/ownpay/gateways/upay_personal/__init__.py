"""The upay personal-wallet gateway: see :mod:`ownpay.gateways.personal`."""
