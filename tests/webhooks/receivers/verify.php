<?php
// OwnPay webhook receiver for PHP: checks X-OwnPay-Signature before trusting the body.
// The secret is the endpoint secret exactly as shown when the endpoint was created,
// "whsec_..." prefix included: it is used as the HMAC key as-is, not decoded.
declare(strict_types=1);

function ownpay_signature_is_valid(
    string $secret,
    string $timestamp,
    string $signatureHeader,
    string $rawBody,
    int $toleranceSeconds = 300
): bool {
    // Reject stale or future timestamps: a captured request cannot be replayed later.
    if (!ctype_digit($timestamp) || abs(time() - (int) $timestamp) > $toleranceSeconds) {
        return false;
    }
    $expected = 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $rawBody, $secret);
    // During a secret rotation the header holds several signatures separated by spaces;
    // one match is enough.
    foreach (explode(' ', $signatureHeader) as $signature) {
        if ($signature !== '' && hash_equals($expected, $signature)) {
            return true;
        }
    }
    return false;
}

if (PHP_SAPI === 'cli') {
    // Command-line mode, used by OwnPay's own tests: exit 0 = valid, 1 = invalid, 2 = usage.
    $secret = (string) getenv('OWNPAY_WEBHOOK_SECRET');
    $bodyFile = (string) getenv('OWNPAY_BODY_FILE');
    $rawBody = $bodyFile !== '' ? @file_get_contents($bodyFile) : false;
    if ($secret === '' || $rawBody === false) {
        fwrite(STDERR, "set OWNPAY_WEBHOOK_SECRET, OWNPAY_TIMESTAMP, OWNPAY_SIGNATURE, OWNPAY_BODY_FILE\n");
        exit(2);
    }
    exit(ownpay_signature_is_valid(
        $secret,
        (string) getenv('OWNPAY_TIMESTAMP'),
        (string) getenv('OWNPAY_SIGNATURE'),
        $rawBody
    ) ? 0 : 1);
}

// Web mode: this script is the endpoint URL configured in OwnPay.
$rawBody = (string) file_get_contents('php://input'); // the raw bytes, before json_decode
$valid = ownpay_signature_is_valid(
    (string) getenv('OWNPAY_WEBHOOK_SECRET'),
    $_SERVER['HTTP_X_OWNPAY_TIMESTAMP'] ?? '',
    $_SERVER['HTTP_X_OWNPAY_SIGNATURE'] ?? '',
    $rawBody
);
if (!$valid) {
    http_response_code(401);
    exit;
}
$event = json_decode($rawBody, true);
$deliveryId = $_SERVER['HTTP_X_OWNPAY_DELIVERY'] ?? '';
// Deliveries are at-least-once: skip $deliveryId if you have already processed it, record it,
// then act on $event['event'] (e.g. 'payment.completed') and answer 2xx within 10 seconds.
http_response_code(204);
