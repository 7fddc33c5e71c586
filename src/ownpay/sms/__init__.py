"""Personal-wallet payments verified by SMS (issue 13).  So far: the parsers that turn a
wallet provider's SMS into a classified, exact record (:mod:`ownpay.sms.parsing`)."""
