"""The bkash personal-wallet gateway: see :mod:`ownpay.gateways.personal`."""
