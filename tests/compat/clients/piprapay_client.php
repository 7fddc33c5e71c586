<?php
// A client of PipraPay's API written the way its WHMCS module and SDKs are (from their
// public code, in our own words): create a charge, send the customer to pp_url, verify by
// pp_id, and accept a webhook only when its mh-piprapay-api-key header equals the configured
// key -- then verify it through the API (status "completed", case-insensitively) before
// believing it.  Used by tests/compat/test_bd_clients.py.
//
//   php piprapay_client.php create BASE_URL API_KEY WEBHOOK_URL REDIRECT_URL RETURN_TYPE
//   php piprapay_client.php verify BASE_URL API_KEY PP_ID
//   php -S 127.0.0.1:PORT piprapay_client.php   (the webhook receiver; env: PIPRAPAY_KEY,
//                                               PIPRAPAY_BASE, PIPRAPAY_LOG)
declare(strict_types=1);

function piprapay_call(string $base, string $key, string $endpoint, array $payload): array
{
    $options = ['http' => [
        'method' => 'POST', 'ignore_errors' => true, 'timeout' => 20,
        'header' => "Content-Type: application/json\r\nAccept: application/json\r\n"
                    . "mh-piprapay-api-key: {$key}\r\n",
        'content' => json_encode($payload, JSON_THROW_ON_ERROR),
    ]];
    $body = @file_get_contents(rtrim($base, '/') . '/api/' . $endpoint, false,
                               stream_context_create($options));
    $status = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('#^HTTP/\S+ (\d{3})#', $line, $m)) {
            $status = (int) $m[1];
        }
    }
    $decoded = is_string($body) ? json_decode($body, true) : null;
    return [$status, is_array($decoded) ? $decoded : []];
}

if (PHP_SAPI !== 'cli') {
    $key = (string) getenv('PIPRAPAY_KEY');
    $headers = function_exists('getallheaders') ? getallheaders() : [];
    $received = '';
    foreach ($headers as $name => $value) {  // the module tries a few spellings; any case
        if (strtolower((string) $name) === 'mh-piprapay-api-key') {
            $received = (string) $value;
        }
    }
    $data = json_decode((string) file_get_contents('php://input'), true);
    $entry = ['ok' => false];
    if ($received !== '' && $received === $key && is_array($data) && isset($data['pp_id'])) {
        [, $verified] = piprapay_call((string) getenv('PIPRAPAY_BASE'), $key,
                                      'verify-payments', ['pp_id' => $data['pp_id']]);
        $entry = ['ok' => strtolower((string) ($verified['status'] ?? '')) === 'completed',
                  'pp_id' => $verified['pp_id'] ?? null,
                  'amount' => $verified['amount'] ?? null,
                  'invoice' => $data['metadata']['invoiceid'] ?? null];
    }
    file_put_contents((string) getenv('PIPRAPAY_LOG'), json_encode($entry) . "\n",
                      FILE_APPEND);
    http_response_code($entry['ok'] ? 200 : 401);
    echo $entry['ok'] ? 'Success' : 'Invalid API Key';
    return;
}

[$command, $base, $key] = [$argv[1] ?? '', $argv[2] ?? '', $argv[3] ?? ''];
switch ($command) {
    case 'create':
        [$status, $answer] = piprapay_call($base, $key, 'create-charge', [
            'full_name' => 'Nusrat Jahan', 'email_mobile' => 'nusrat@example.com',
            'amount' => '500.00', 'metadata' => ['invoiceid' => 42],
            'redirect_url' => $argv[5], 'cancel_url' => $argv[5], 'webhook_url' => $argv[4],
            'return_type' => $argv[6], 'currency' => 'BDT',
        ]);
        if (!isset($answer['pp_url'])) {
            fwrite(STDERR, "create failed ({$status}): " . ($answer['message'] ?? '?') . "\n");
            exit(1);
        }
        echo json_encode(['pp_id' => $answer['pp_id'], 'pp_url' => $answer['pp_url']]);
        break;
    case 'verify':
        [$status, $answer] = piprapay_call($base, $key, 'verify-payments', ['pp_id' => $argv[4]]);
        echo json_encode(['http' => $status] + $answer);
        break;
    default:
        fwrite(STDERR, "usage: create|verify\n");
        exit(2);
}
