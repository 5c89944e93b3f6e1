package account

// DefaultLanguage is the language of an email to someone who chose none.
const DefaultLanguage = "en"

// IsLanguage reports whether code is one of the portal's languages, as a
// user's or a customer's choice may name. The message catalogs hold the
// same five (a test in i18n checks they agree).
func IsLanguage(code string) bool {
	for _, l := range Languages() {
		if l == code {
			return true
		}
	}
	return false
}

// Languages lists the portal's languages, English first.
func Languages() []string { return []string{"en", "de", "fr", "it", "nl"} }
