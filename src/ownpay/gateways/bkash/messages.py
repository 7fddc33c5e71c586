"""What a customer reads for each bKash outcome: one sentence per status code of bKash's
published table (2001-2069, 2116-2119, and 9999 as the sandbox sends it).  The code and
bKash's own message always go into the status history; these sentences are what our
checkout page shows.  They say what happened, never whether money was taken (the page adds
that part itself).  Pure data."""

from __future__ import annotations

from ownpay.i18n import N_

MERCHANT_SIDE = (
    N_("bKash is not available for this shop right now. "
    "Please choose another way to pay or contact the merchant.")
)
TRY_AGAIN = N_("bKash could not process the payment. Please try again.")
TEMPORARY = N_("bKash is temporarily unavailable. Please try again in a few minutes.")
GENERIC = N_("bKash could not complete the payment. Please try again or choose another method.")
START_AGAIN = N_("This bKash payment can no longer be completed. Please start the payment again.")
REFUND_ONLY = N_("The refund was refused by bKash.")
ACCOUNT_BLOCKED = N_("Your bKash account cannot make this payment right now. Please contact bKash.")
NOT_SUBSCRIBED = N_("Your bKash account cannot make this kind of payment. Please contact bKash.")
MERCHANT_BLOCKED = (
    N_("The merchant's bKash account cannot receive payments right now. "
    "Please contact the merchant.")
)
NOT_APPROVED = N_("The bKash payment was not approved. Please try again.")
NOT_COMPLETED = N_("The bKash payment did not go through.")
CANCELLED = N_("The bKash payment was cancelled.")

# Every status code of the table, with what the customer is told.
CUSTOMER_MESSAGES: dict[str, str] = {
    "2001": MERCHANT_SIDE,  # Invalid App Key
    "2002": START_AGAIN,  # Invalid Payment ID
    "2003": TRY_AGAIN,  # Process failed
    "2004": MERCHANT_SIDE,  # Invalid firstPaymentDate
    "2005": MERCHANT_SIDE,  # Invalid frequency
    "2006": N_("bKash does not accept this payment amount. Please contact the merchant."),
    "2007": N_("bKash accepts payments in Bangladeshi taka (BDT) only."),  # Invalid currency
    "2008": MERCHANT_SIDE,  # Invalid intent
    "2009": N_("The bKash wallet number is not valid. Please check it and try again."),
    "2010": N_("The verification code (OTP) was not valid. Please try again."),
    "2011": N_("The bKash PIN was not valid. Please try again."),
    "2012": MERCHANT_SIDE,  # Invalid Receiver MSISDN
    "2013": N_("Too many verification codes were requested. Please try again later."),
    "2014": N_("The bKash PIN was wrong. Please try again."),
    "2015": N_("The bKash PIN was entered wrongly too many times. Please try again later."),
    "2016": N_("The verification code (OTP) was wrong. Please try again."),
    "2017": N_("The verification code (OTP) was entered wrongly too many times. "
    "Please try again later."),
    "2018": N_("The verification code (OTP) expired. Please try again."),
    "2019": N_("The time to enter your bKash PIN ran out. Please try again."),
    "2020": TRY_AGAIN,  # Exception Occurred
    "2021": MERCHANT_SIDE,  # Invalid Mandate ID
    "2022": MERCHANT_SIDE,  # The mandate does not exist
    "2023": N_("Your bKash account does not have enough balance for this payment."),
    "2024": TRY_AGAIN,  # Exception occurred
    "2025": MERCHANT_SIDE,  # Invalid request body
    "2026": N_("The refund is larger than the amount that can still be refunded."),
    "2027": MERCHANT_SIDE,  # mandate already exists
    "2028": REFUND_ONLY,  # Reverse failed: transaction serial number does not exist
    "2029": N_("A payment like this was just made. Please wait a few minutes before trying again."),
    "2030": MERCHANT_SIDE,  # Invalid mandate request type
    "2031": MERCHANT_SIDE,  # Invalid merchant invoice number
    "2032": MERCHANT_SIDE,  # Invalid transfer type
    "2033": N_("bKash could not find this payment. Please start the payment again."),
    "2034": N_("This payment has already been refunded in full."),
    "2035": REFUND_ONLY,  # initiator may not reverse
    "2036": MERCHANT_SIDE,  # mandate not active
    "2037": ACCOUNT_BLOCKED,  # debit party account state prohibits
    "2038": ACCOUNT_BLOCKED,  # debit party identity tag prohibits
    "2039": MERCHANT_BLOCKED,  # credit party account state prohibits
    "2040": MERCHANT_BLOCKED,  # credit party identity tag prohibits
    "2041": MERCHANT_BLOCKED,  # credit party identity state
    "2042": REFUND_ONLY,  # initiator may not reverse
    "2043": N_("Your bKash PIN or verification code was not accepted. Please try again."),
    "2044": NOT_SUBSCRIBED,
    "2045": N_("This number has no bKash account. Please check the wallet number."),
    "2046": NOT_SUBSCRIBED,
    "2047": MERCHANT_SIDE,  # TLV Data Format Error
    "2048": MERCHANT_SIDE,  # Invalid Payer Reference
    "2049": MERCHANT_SIDE,  # Invalid Merchant Callback URL
    "2050": MERCHANT_SIDE,  # agreement codes: not used by checkout without agreement
    "2051": MERCHANT_SIDE,
    "2052": MERCHANT_SIDE,
    "2053": MERCHANT_SIDE,
    "2054": MERCHANT_SIDE,
    "2055": MERCHANT_SIDE,
    "2056": START_AGAIN,  # Invalid Payment State
    "2057": N_("This number is not a bKash account. Please check the wallet number."),
    "2058": N_("This number is not a personal bKash wallet. Please use a personal bKash account."),
    "2059": N_("A verification code was already sent. Please use it or try again later."),
    "2060": NOT_APPROVED,  # Payment execution pre-requisite hasn't been met
    "2061": MERCHANT_SIDE,  # only the initiator may act
    "2062": N_("This bKash payment has already been completed."),
    "2063": MERCHANT_SIDE,  # Mode is not valid as per request data
    "2064": MERCHANT_SIDE,  # This product mode currently unavailable
    "2065": MERCHANT_SIDE,  # Mandatory field missing
    "2066": MERCHANT_SIDE,  # Agreement is not shared with other merchant
    "2067": MERCHANT_SIDE,  # Invalid permission
    "2068": N_("This bKash payment has already been completed."),
    "2069": N_("This bKash payment was cancelled. Please start the payment again."),
    "2116": MERCHANT_SIDE,  # agreement execution already completed
    "2117": N_("This bKash payment has already been completed."),
    "2118": MERCHANT_SIDE,  # The Platform value is invalid
    "2119": N_("This bKash payment has already been processed."),
    "9999": TEMPORARY,  # System Error
    "http_401": MERCHANT_SIDE,  # API gateway refused the access token
    "http_403": MERCHANT_SIDE,  # API gateway refused the app key
}
