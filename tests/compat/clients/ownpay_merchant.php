<?php
// A client of OwnPay's merchant API written the way its WHMCS module and WooCommerce plugin
// are (from their public code, in our own words): create a payment, send the customer to
// checkout_url, verify the payment by its payment_id, and accept a webhook only when its
// HMAC-SHA256 signature matches.  Used by tests/compat/test_ownpay_clients.py.
//
//   php ownpay_merchant.php create BASE_URL API_KEY CALLBACK_URL REDIRECT_URL INVOICE_ID
//   php ownpay_merchant.php verify BASE_URL API_KEY PAYMENT_ID
//   php ownpay_merchant.php refund BASE_URL API_KEY TRX_ID AMOUNT
//   php -S 127.0.0.1:PORT ownpay_merchant.php   (the webhook receiver; env: OWNPAY_SECRET,
//                                                OWNPAY_CLIENT_LOG)
declare(strict_types=1);

function api_request(string $method, string $url, string $key, ?array $payload): array
{
    $headers = "Accept: application/json\r\nAuthorization: Bearer {$key}\r\n";
    $options = ['method' => $method, 'ignore_errors' => true, 'timeout' => 20,
                'header' => $headers];
    if ($payload !== null) {
        $options['header'] .= "Content-Type: application/json\r\n";
        $options['content'] = json_encode($payload, JSON_THROW_ON_ERROR);
    }
    $body = @file_get_contents($url, false, stream_context_create(['http' => $options]));
    $status = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('#^HTTP/\S+ (\d{3})#', $line, $m)) {
            $status = (int) $m[1];
        }
    }
    return [$status, is_string($body) ? json_decode($body, true) : null];
}

function signature_from_headers(): string
{
    // The module's order: X-Signature, then X-OP-Signature, then X-OwnPay-Signature.
    foreach (['HTTP_X_SIGNATURE', 'HTTP_X_OP_SIGNATURE', 'HTTP_X_OWNPAY_SIGNATURE'] as $name) {
        if (!empty($_SERVER[$name])) {
            return (string) $_SERVER[$name];
        }
    }
    return '';
}

if (PHP_SAPI !== 'cli') {
    $raw = (string) file_get_contents('php://input');
    $secret = (string) getenv('OWNPAY_SECRET');
    $signature = signature_from_headers();
    if (str_starts_with($signature, 'sha256=')) {
        $signature = substr($signature, 7);
    }
    $timestamp = (string) ($_SERVER['HTTP_X_OWNPAY_TIMESTAMP'] ?? '');
    $fresh = ctype_digit($timestamp) && abs(time() - (int) $timestamp) <= 300;
    $valid = $secret !== '' && $signature !== ''
        && hash_equals(hash_hmac('sha256', $raw, $secret), $signature) && $fresh;
    $data = json_decode($raw, true);
    $invoice = null;
    if (is_array($data)) {
        $invoice = $data['reference'] ?? ($data['metadata']['whmcs_invoice_id'] ?? null);
    }
    file_put_contents((string) getenv('OWNPAY_CLIENT_LOG'), json_encode([
        'ok' => $valid,
        'event' => is_array($data) ? ($data['event'] ?? null) : null,
        'status' => is_array($data) ? ($data['status'] ?? null) : null,
        'amount' => is_array($data) ? ($data['amount'] ?? null) : null,
        'currency' => is_array($data) ? ($data['currency'] ?? null) : null,
        'invoice' => $invoice,
        'trx_id' => is_array($data) ? ($data['trx_id'] ?? null) : null,
    ]) . "\n", FILE_APPEND | LOCK_EX);
    http_response_code($valid ? 200 : 403);
    header('Content-Type: application/json');
    echo json_encode(['status' => $valid ? 'ok' : 'rejected']);
    return;
}

[$script, $command] = [$argv[0], $argv[1] ?? ''];
if ($command === 'create' && $argc === 7) {
    [, , $base, $key, $callback, $redirect, $invoice] = $argv;
    [$status, $answer] = api_request('POST', rtrim($base, '/') . '/api/v1/payments', $key, [
        'amount' => number_format(150.0, 2, '.', ''),
        'currency' => 'BDT',
        'redirect_url' => $redirect,
        'cancel_url' => $redirect,
        'callback_url' => $callback,
        'reference' => $invoice,
        'customer_name' => 'Karim Ahmed',
        'customer_email' => 'karim@example.com',
        'metadata' => ['whmcs_invoice_id' => $invoice, 'module_version' => '1.1.0'],
        'logo_url' => 'https://billing.example/logo.png',
    ]);
    // The module refuses anything but 201 with success and a checkout_url.
    if ($status !== 201 || empty($answer['success']) || empty($answer['data']['checkout_url'])) {
        fwrite(STDERR, "create failed: HTTP {$status} " . json_encode($answer) . "\n");
        exit(1);
    }
    echo json_encode(['payment_id' => $answer['data']['payment_id'],
                      'checkout_url' => $answer['data']['checkout_url']]), "\n";
    exit(0);
}
if ($command === 'verify' && $argc === 5) {
    [, , $base, $key, $paymentId] = $argv;
    [$status, $answer] = api_request(
        'GET', rtrim($base, '/') . '/api/v1/payments/' . rawurlencode($paymentId), $key, null);
    if ($status !== 200 || !is_array($answer) || empty($answer['success'])) {
        fwrite(STDERR, "verify failed: HTTP {$status} " . json_encode($answer) . "\n");
        exit(1);
    }
    $data = $answer['data'];
    echo json_encode(['status' => strtolower((string) $data['status']),
                      'trx_id' => $data['trx_id'], 'amount' => $data['amount'],
                      'fee' => $data['fee']]), "\n";
    exit(0);
}
if ($command === 'refund' && $argc === 6) {
    // The module's refund: trx_id and the amount as a string; only 201 with success counts.
    [, , $base, $key, $trxId, $amount] = $argv;
    [$status, $answer] = api_request('POST', rtrim($base, '/') . '/api/v1/refunds', $key, [
        'trx_id' => $trxId, 'amount' => $amount, 'reason' => 'Refunded from WHMCS',
    ]);
    if ($status !== 201 || empty($answer['success'])) {
        fwrite(STDERR, "refund failed: HTTP {$status} " . json_encode($answer) . "\n");
        exit(1);
    }
    $data = $answer['data'];
    echo json_encode(['id' => $data['id'], 'status' => $data['status'],
                      'amount' => $data['amount'], 'trx_id' => $data['trx_id']]), "\n";
    exit(0);
}
fwrite(STDERR, "usage: {$script} create|verify|refund …\n");
exit(2);
