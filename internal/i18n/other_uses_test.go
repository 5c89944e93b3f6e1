package i18n_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/clc-portal/clc/internal/i18n"
)

// otherUse finds the message ids messageUse does not: an email's
// tr.T("id") in the mail renderer and a field error's fe.Add("field", "id")
// in the domain.
var otherUse = regexp.MustCompile(`(?:\btr\.[TN]\(|\.Add\("[a-z_]+", )"([a-z_]+(?:\.[a-z_]+)+)"`)

func TestEmailAndFieldMessagesExist(t *testing.T) {
	ids, err := i18n.IDs()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	found := 0
	for _, glob := range []string{"../../internal/mail/*.go", "../../internal/account/*.go"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range otherUse.FindAllStringSubmatch(string(src), -1) {
				found++
				if !have[m[1]] {
					t.Errorf("%s uses message %q, which en.toml lacks", path, m[1])
				}
			}
		}
	}
	if found < 20 {
		t.Fatalf("found only %d message uses: the pattern no longer matches the code", found)
	}
}
