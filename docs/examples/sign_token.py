# Sign a cStar identity token in Python with PyJWT (pip install pyjwt, or
# Debian's python3-jwt). time.time() gives fractional NumericDates, which
# cStar accepts (RFC 7519).
import os
import time
import uuid

import jwt

secret = os.environ["CSTAR_IDENTITY_SECRET"]  # isec_… of the mode
now = time.time()
token = jwt.encode(
    {
        "sub": os.environ.get("USER_ID", "user-42"),  # your own user id
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "iat": now,
        "exp": now + 600,  # at most 24 h after iat
        "jti": str(uuid.uuid4()),  # optional: each token works once
    },
    secret,
    algorithm="HS256",
)
print(token)
