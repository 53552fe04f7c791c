package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/text"
	"github.com/cstar-chat/cstar/server/protocol"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// handlerFunc is an HTTP handler that returns its error for the wrapper to
// render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func ok(w http.ResponseWriter, status int, data any) error {
	writeJSON(w, status, protocol.DataBody{Success: true, Data: data})
	return nil
}

func list[T, D any](w http.ResponseWriter, p page.Page[T], conv func(T) D) error {
	out := make([]D, len(p.Items))
	for i, it := range p.Items {
		out[i] = conv(it)
	}
	pg := &protocol.Pagination{HasMore: p.HasMore}
	if p.Next != "" {
		pg.NextCursor = &p.Next
	}
	writeJSON(w, http.StatusOK, protocol.DataBody{Success: true, Data: out, Pagination: pg})
	return nil
}

// renderError writes err in the standard envelope. Internal errors are
// logged with the request ID; the client sees a generic message.
func renderError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := errs.Public(err)
	status := e.Code.HTTPStatus()
	msg := e.Message
	if e.Code == errs.Unavailable {
		noteCause(r.Context(), err)
	}
	if e.Code == errs.Internal {
		log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "err", err)
		msg = protocol.MsgInternal
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(e.RetryAfter)))
	}
	writeJSON(w, status, protocol.ErrorBody{Error: msg, Code: string(e.Code), Field: e.Field, Reason: e.Reason,
		RequestID: requestID(r.Context())})
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// decode reads a JSON body into v: at most 1 MiB, Content-Type JSON, no
// unknown fields, nothing after the value. An empty body leaves v untouched
// when allowEmpty is set.
func decode(r *http.Request, v any, allowEmpty bool) error {
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.New(errs.TooLarge, "Request body is larger than 1 MiB")
		}
		return errs.New(errs.Invalid, "Could not read the request body")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		if allowEmpty {
			return nil
		}
		return errs.New(errs.Invalid, "Request body is required")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errs.New(errs.UnsupportedMedia, "Content-Type must be application/json")
	}
	return DecodeJSON(data, v)
}

// DecodeJSON strictly decodes one JSON value from data into v, with errors
// that name the offending field.
func DecodeJSON(data []byte, v any) error {
	// No string of any body may hold a control character (one rule for
	// every route; line breaks and tabs are the features' to refuse).
	if err := text.JSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return errs.New(errs.Invalid, fmt.Sprintf("Malformed JSON at byte %d", syn.Offset))
		case errors.As(err, &typ) && typ.Field != "":
			return errs.Invalidf(typ.Field, "%s must be %s", typ.Field, jsonKind(typ.Type.String()))
		case errors.As(err, &typ):
			return errs.New(errs.Invalid, "Request body must be a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return errs.New(errs.Invalid, "Malformed JSON: unexpected end of input")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return errs.Invalidf(field, "Unknown field %q", field)
		}
		return errs.New(errs.Invalid, "Malformed JSON")
	}
	if dec.More() {
		return errs.New(errs.Invalid, "Malformed JSON: unexpected data after the object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errs.New(errs.Invalid, "Malformed JSON: unexpected data after the object")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "string") && strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "*[]"):
		return "an array"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.Contains(goType, "map"):
		return "an object"
	}
	return "of another type"
}

// limitParam reads the optional limit of a list, the one rule of every
// list endpoint: def when absent, else a whole number from 1 to max.
func limitParam(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errs.Invalidf("limit", "limit must be a number between 1 and %d", max)
	}
	return n, nil
}

// pageParams reads limit and cursor from the query string.
func pageParams(r *http.Request) (page.Params, error) {
	limit, err := limitParam(r, page.DefaultLimit, page.MaxLimit)
	if err != nil {
		return page.Params{}, err
	}
	return page.NewParams(limit, r.URL.Query().Get("cursor"))
}
