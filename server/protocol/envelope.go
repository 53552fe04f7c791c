package protocol

// ErrorBody is the envelope of every error response:
// {"success": false, "error": "<message>", "code": "...", "request_id": "..."}.
type ErrorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    string `json:"code,omitempty"`
	Field   string `json:"field,omitempty"`
	// Reason refines Code where telling is safe, e.g. why an identity
	// token was refused, in test mode only.
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// DataBody is the envelope of every successful response. Pagination is set
// on lists only.
type DataBody struct {
	Success    bool        `json:"success"`
	Data       any         `json:"data"`
	Pagination *Pagination `json:"pagination,omitempty"`
}

// Pagination describes where a cursor-paged list continues.
type Pagination struct {
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// Messages that clients match on; they are part of the contract.
const (
	MsgInvalidAPIKey    = "Invalid API key"
	MsgPublishableRO    = "Publishable keys are read-only"
	MsgRateLimited      = "Rate limit exceeded"
	MsgHTTPSRequired    = "HTTPS required"
	MsgInternal         = "Internal server error"
	MsgWrongTeam        = "This API key does not belong to this team"
	MsgPublishableScope = "Publishable keys cannot access this resource"
	MsgOriginNotAllowed = "Origin not allowed for this publishable key"
	// MsgUnavailable answers a request (code unavailable, with
	// Retry-After or retry_after_ms) that the database could not serve for
	// the moment: the same request may be sent again.
	MsgUnavailable = "Service temporarily unavailable, please retry"
)
