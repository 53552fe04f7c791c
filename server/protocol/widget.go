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
	// Merged is set when the request carried a visitor's token and its
	// conversations moved into Customer.
	Merged *Merged `json:"merged,omitempty"`
}

// VisitorHeader carries an anonymous visitor's token on a signup, login or
// identify: possession of it, in that same request, moves the visitor's
// conversations into the customer who signs in (nothing else merges).
const VisitorHeader = "X-CStar-Visitor"

// Merged says what a sign-in took over from the visitor of VisitorHeader.
type Merged struct {
	VisitorID string `json:"visitor_id"`
	// Tickets is how many conversations moved.
	Tickets int `json:"tickets"`
}

// VisitorRequest is the body of POST and PATCH /api/widget/v1/visitor: what
// a visitor typed about themselves, stored unverified (both optional).
type VisitorRequest struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Visitor is an anonymous visitor as the widget sees it. Email is the one
// the visitor typed (unverified); Name may be empty.
type Visitor struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Email     *string `json:"email"`
	CreatedAt string  `json:"created_at"` // RFC 3339
}

// VisitorResult is the data of POST /api/widget/v1/visitor: the visitor and
// its token, a session like a customer's (shown once).
type VisitorResult struct {
	Visitor Visitor `json:"visitor"`
	Session Session `json:"session"`
}

// WidgetTeam names the team behind a publishable key, for the public
// Library API's {team}.
type WidgetTeam struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// WidgetSettings is the data of GET /api/widget/v1/settings: the team and
// what the widget's header says of it ("" when unset).
type WidgetSettings struct {
	Team WidgetTeam `json:"team"`
	// Availability is "online" or "away".
	Availability string `json:"availability"`
	// ReplyTime is "minutes", "hours" or "day".
	ReplyTime string `json:"reply_time"`
	// AvatarURL is an https URL with {name} for an agent's name.
	AvatarURL string `json:"avatar_url"`
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
