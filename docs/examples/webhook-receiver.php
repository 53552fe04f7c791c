<?php
// A cStar webhook endpoint in PHP: it checks the Cstar-Signature header over
// the raw body, refuses timestamps more than 5 minutes off (replays), and
// should skip event ids it has handled already (deliveries are at least once).
//   CSTAR_WEBHOOK_SECRET=whsec_… php -S 127.0.0.1:3000 webhook-receiver.php

const CSTAR_TOLERANCE_SECONDS = 300;

// True when one v1 signature of $header is the HMAC-SHA256 of "<t>.<raw body>"
// under $secret (the whole "whsec_…" string), and t is recent.
function cstar_verify(string $secret, string $header, string $rawBody, ?int $now = null): bool
{
    $t = null;
    $signatures = [];
    foreach (explode(',', $header) as $part) {
        $kv = explode('=', trim($part), 2);
        if (count($kv) !== 2) {
            continue;
        }
        if ($kv[0] === 't' && ctype_digit($kv[1])) {
            $t = (int) $kv[1];
        } elseif ($kv[0] === 'v1' && $kv[1] !== '') {
            $signatures[] = $kv[1];
        }
    }
    if ($t === null || !$signatures || abs(($now ?? time()) - $t) > CSTAR_TOLERANCE_SECONDS) {
        return false;
    }
    $expected = hash_hmac('sha256', $t . '.' . $rawBody, $secret);
    foreach ($signatures as $signature) {
        if (hash_equals($expected, $signature)) {
            return true;
        }
    }
    return false;
}

$raw = file_get_contents('php://input'); // the exact bytes: verify before json_decode
if (!cstar_verify(getenv('CSTAR_WEBHOOK_SECRET'), $_SERVER['HTTP_CSTAR_SIGNATURE'] ?? '', $raw)) {
    error_log('rejected ' . ($_SERVER['HTTP_CSTAR_EVENT_ID'] ?? '-'));
    http_response_code(400);
    exit('bad signature');
}
$event = json_decode($raw, true);
// Skip $event['id'] if your database has it already; otherwise handle
// $event['type'] and $event['data'] quickly, and record the id.
error_log('verified ' . $event['type'] . ' ' . $event['id']);
http_response_code(200); // a 2xx within 10 s, or cStar retries
echo 'ok';
