package protocol

// The widget API (/api/widget/v1/…) is what the CStarChat SDK calls from a
// browser. Every request carries "Authorization: Bearer pk_…"; requests made
// on behalf of a signed-in customer also carry the session token in the
// SessionHeader. No secret ever travels in a URL.
const SessionHeader = "X-CStar-Session"

// Customer is a customer as the widget sees it.
type Customer struct {
	ID         string  `json:"id"`
	Email      *string `json:"email"`
	Name       string  `json:"name"`
	ExternalID *string `json:"external_id"`
	CreatedAt  string  `json:"created_at"` // RFC 3339
	// EmailVerified says the customer proved the email is theirs (a
	// verification or reset link, a signed token, the site's API).
	EmailVerified bool `json:"email_verified"`
}

// Session is an issued customer session. The token is shown once.
type Session struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"` // RFC 3339; the idle expiry, which slides
}

// SignupRequest is the body of POST /api/widget/v1/signup.
type SignupRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// LoginRequest is the body of POST /api/widget/v1/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// IdentifyRequest is the body of POST /api/widget/v1/identify: either a
// signed token, or a user id with its HMAC user hash.
type IdentifyRequest struct {
	Token    string `json:"token,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name,omitempty"`
	UserHash string `json:"user_hash,omitempty"`
}

// AuthResult is the data of a successful signup, login or identify.
type AuthResult struct {
	Customer Customer `json:"customer"`
	Session  Session  `json:"session"`
}

// PasswordResetRequest is the body of POST /api/widget/v1/password-reset.
type PasswordResetRequest struct {
	Email string `json:"email"`
}

// PasswordResetRequested is the answer to a reset request: always the same,
// whether an account has the email or not.
type PasswordResetRequested struct {
	Requested bool `json:"requested"`
}

// PasswordResetConfirm is the body of POST
// /api/widget/v1/password-reset/confirm: the token from the link's fragment
// and the new password.
type PasswordResetConfirm struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// VerifyEmailRequest is the body of POST /api/widget/v1/verify-email.
type VerifyEmailRequest struct {
	Token string `json:"token"`
}
