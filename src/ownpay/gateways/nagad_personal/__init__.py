"""The nagad personal-wallet gateway: see :mod:`ownpay.gateways.personal`."""
