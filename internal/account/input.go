package account

import "unicode/utf8"

// TextProblem says why a piece of text cannot be taken as it is.
type TextProblem int

const (
	// TextOK is text that can be stored and read.
	TextOK TextProblem = iota
	// TextControl holds a control character: PostgreSQL refuses a NUL in
	// text (SQLSTATE 22021), and the others show as nothing or as garbage
	// on a page, in an email or in a terminal that reads the log.
	TextControl
	// TextInvalidUTF8 holds bytes that are no UTF-8: PostgreSQL refuses them,
	// and a person could not read them anyway.
	TextInvalidUTF8
)

// CheckText reports what is wrong with s as text a person typed. Tab, new
// line and carriage return are allowed: browsers send a textarea's line
// breaks as CRLF. Every other C0 control, DEL and the C1 controls are not.
func CheckText(s string) TextProblem {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
				return TextControl
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return TextInvalidUTF8
		}
		if r >= 0x80 && r <= 0x9f {
			return TextControl
		}
		i += size
	}
	return TextOK
}
