<?php
// Sign a cStar identity token in PHP with nothing but hash_hmac.
function b64url(string $s): string {
    return rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
}

$secret = getenv('CSTAR_IDENTITY_SECRET'); // isec_… of the mode
$now = time();
$header = b64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
$payload = b64url(json_encode([
    'sub' => getenv('USER_ID') ?: 'user-42', // your own user id
    'email' => 'ada@example.com',
    'name' => 'Ada Lovelace',
    'iat' => $now,
    'exp' => $now + 600, // at most 24 h after iat
    'jti' => bin2hex(random_bytes(16)), // optional: each token works once
]));
$signature = b64url(hash_hmac('sha256', "$header.$payload", $secret, true));
echo "$header.$payload.$signature\n";

// The user-hash alternative: proves the user id only.
// $userHash = hash_hmac('sha256', $userId, $secret);
