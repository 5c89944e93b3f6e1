package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequestFormRoundTrip checks the request form's decoder against its
// review step: whatever a browser posts, the review's hidden fields carry it
// to "Submit Request" unchanged, so what the partner reviewed is what is sent.
func FuzzRequestFormRoundTrip(f *testing.F) {
	f.Add("name=Globex&domain=globex.example&customer_emails=a%40globex.example&submission_key=abcdefghijklmnopqrstu")
	f.Add("name=%E2%80%AE&domain_editable=1&note_to_customer=a%0D%0Ab&user_emails=x%3By")
	f.Add("name=a&name=b&domain=%00&unknown=1")
	f.Add("%zz=1&&=&name")
	f.Fuzz(func(t *testing.T, body string) {
		first := parseRequestForm(postForm(body))
		v := url.Values{}
		for _, h := range first.hidden() {
			v.Add(h.Name, h.Value)
		}
		second := parseRequestForm(postForm(v.Encode()))
		if second != first {
			t.Fatalf("review lost or changed input:\n posted %q\n first  %+v\n second %+v", body, first, second)
		}
	})
}

func postForm(body string) *http.Request {
	r := httptest.NewRequest("POST", "/clc/accounts/new", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
