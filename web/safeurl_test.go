package web

import (
	"io/fs"
	"os"
	"strings"
	"testing"
)

// templ.SafeURL turns templ's URL sanitizer off for its value; no link the
// portal builds needs that, and a string URL is sanitized.
func TestNoTemplateBypassesTheURLSanitizer(t *testing.T) {
	err := fs.WalkDir(os.DirFS("."), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".templ") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := strings.Count(string(src), "templ.SafeURL"); n > 0 {
			t.Errorf("%s: %d uses of templ.SafeURL", path, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
