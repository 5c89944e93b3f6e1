package account_test

import (
	"testing"

	"github.com/clc-portal/clc/internal/account"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want account.TextProblem
	}{
		{"empty", "", account.TextOK},
		{"plain", "Globex Corporation", account.TextOK},
		{"accents and scripts", "Société Générale — 株式会社 😀", account.TextOK},
		{"textarea line breaks", "first line\r\nsecond\tline\n", account.TextOK},
		{"NUL", "Globex\x00", account.TextControl},
		{"NUL alone", "\x00", account.TextControl},
		{"bell", "ring\a", account.TextControl},
		{"escape", "\x1b[31mred", account.TextControl},
		{"vertical tab", "a\vb", account.TextControl},
		{"form feed", "a\fb", account.TextControl},
		{"DEL", "a\x7fb", account.TextControl},
		{"C1 NEL", "a\u0085b", account.TextControl},
		{"C1 CSI", "a\u009bb", account.TextControl},
		{"first after C1", "a\u00a0b", account.TextOK},
		{"lone continuation byte", "a\x80b", account.TextInvalidUTF8},
		{"truncated sequence", "caf\xc3", account.TextInvalidUTF8},
		{"overlong slash", "\xc0\xaf", account.TextInvalidUTF8},
		{"surrogate half", "\xed\xa0\x80", account.TextInvalidUTF8},
		{"latin-1 byte", "Z\xfcrich", account.TextInvalidUTF8},
		{"replacement character typed", "a\ufffdb", account.TextOK},
	} {
		if got := account.CheckText(tc.in); got != tc.want {
			t.Errorf("%s: CheckText(%q) = %d, want %d", tc.name, tc.in, got, tc.want)
		}
	}
}
