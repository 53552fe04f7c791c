package mail

import (
	"slices"
	"strconv"
	"strings"
)

// Locales are the languages of customers' mail; the first is the fallback.
var Locales = []string{"en", "de", "es"}

// Locale returns the supported language that an Accept-Language header
// (or a bare language tag) prefers, or "".
func Locale(acceptLanguage string) string {
	best, bestQ := "", 0.0
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i >= 20 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > bestQ && slices.Contains(Locales, lang) {
			best, bestQ = lang, q
		}
	}
	return best
}

// pick returns locale when it is supported, else English.
func pick(locale string) string {
	for _, l := range Locales {
		if l == locale {
			return l
		}
	}
	return "en"
}

// t is the text of key in locale with {name} placeholders filled from kv
// (name, value pairs).
func t(locale, key string, kv ...string) string {
	s, ok := strings_[pick(locale)][key]
	if !ok {
		s = strings_["en"][key]
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
	}
	return s
}

// strings_ are the customers' mail in each language. The agents' mail is in
// English only, like the dashboard.
var strings_ = map[string]map[string]string{
	"en": {
		"hello":           "Hello {name},",
		"hello_anon":      "Hello,",
		"reset.subject":   "Reset your password for {team}",
		"reset.body":      "Someone, hopefully you, asked to reset the password of your {team} account ({email}).",
		"reset.button":    "Choose a new password",
		"reset.after":     "The link works once, for 30 minutes. If you did not ask for it, ignore this email: your password stays as it is.",
		"verify.subject":  "Confirm your email address for {team}",
		"verify.body":     "Please confirm that {email} is your address, so that {team} can reach you by email.",
		"verify.button":   "Confirm my email address",
		"verify.after":    "The link works once, for 3 days. If you did not sign up, ignore this email.",
		"offline.subject": "New reply from {team}",
		"offline.body":    "{team} answered you in your conversation while you were away:",
		"offline.button":  "Continue the conversation",
		"offline.nolink":  "Open the chat on {team}'s website to answer.",
		"offline.after":   "Replies to this email are not read yet: please answer in the chat.",
		"offline.why":     "You get this email because you have an account with {team} and were away when they replied.",
		"unsubscribe":     "Stop emails about replies",
		"footer":          "{team}",
	},
	"de": {
		"hello":           "Hallo {name},",
		"hello_anon":      "Hallo,",
		"reset.subject":   "Passwort für {team} zurücksetzen",
		"reset.body":      "Jemand – hoffentlich Sie – möchte das Passwort Ihres Kontos bei {team} ({email}) zurücksetzen.",
		"reset.button":    "Neues Passwort wählen",
		"reset.after":     "Der Link funktioniert einmal und 30 Minuten lang. Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt, wie es ist.",
		"verify.subject":  "Bestätigen Sie Ihre E-Mail-Adresse für {team}",
		"verify.body":     "Bitte bestätigen Sie, dass {email} Ihre Adresse ist, damit {team} Sie per E-Mail erreichen kann.",
		"verify.button":   "E-Mail-Adresse bestätigen",
		"verify.after":    "Der Link funktioniert einmal und 3 Tage lang. Wenn Sie sich nicht registriert haben, ignorieren Sie diese E-Mail.",
		"offline.subject": "Neue Antwort von {team}",
		"offline.body":    "{team} hat Ihnen in Ihrem Gespräch geantwortet, während Sie nicht da waren:",
		"offline.button":  "Gespräch fortsetzen",
		"offline.nolink":  "Öffnen Sie den Chat auf der Website von {team}, um zu antworten.",
		"offline.after":   "Antworten auf diese E-Mail werden noch nicht gelesen: Bitte antworten Sie im Chat.",
		"offline.why":     "Sie erhalten diese E-Mail, weil Sie ein Konto bei {team} haben und nicht da waren, als geantwortet wurde.",
		"unsubscribe":     "Keine E-Mails zu Antworten mehr",
		"footer":          "{team}",
	},
	"es": {
		"hello":           "Hola, {name}:",
		"hello_anon":      "Hola:",
		"reset.subject":   "Restablece tu contraseña de {team}",
		"reset.body":      "Alguien, esperamos que tú, pidió restablecer la contraseña de tu cuenta de {team} ({email}).",
		"reset.button":    "Elegir una contraseña nueva",
		"reset.after":     "El enlace funciona una vez, durante 30 minutos. Si no lo pediste, ignora este correo: tu contraseña no cambia.",
		"verify.subject":  "Confirma tu dirección de correo para {team}",
		"verify.body":     "Confirma que {email} es tu dirección para que {team} pueda escribirte.",
		"verify.button":   "Confirmar mi dirección",
		"verify.after":    "El enlace funciona una vez, durante 3 días. Si no te registraste, ignora este correo.",
		"offline.subject": "Nueva respuesta de {team}",
		"offline.body":    "{team} te respondió en tu conversación mientras no estabas:",
		"offline.button":  "Continuar la conversación",
		"offline.nolink":  "Abre el chat en el sitio web de {team} para responder.",
		"offline.after":   "Las respuestas a este correo aún no se leen: responde en el chat, por favor.",
		"offline.why":     "Recibes este correo porque tienes una cuenta en {team} y no estabas cuando te respondieron.",
		"unsubscribe":     "No recibir más correos de respuestas",
		"footer":          "{team}",
	},
}
