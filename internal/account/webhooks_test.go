package account

import (
	"strings"
	"testing"
)

func TestCheckWebhookURL(t *testing.T) {
	for _, c := range []struct {
		url       string
		allowHTTP bool
		want      string // the message id, "" for accepted
	}{
		{"https://crm.example.com/hooks/clc", false, ""},
		{"  https://crm.example.com:8443/h?x=1  ", false, ""},
		{"http://crm.example.com/", false, "webhooks.error.url_https"},
		{"http://127.0.0.1:9000/", true, ""},
		{"", false, "webhooks.error.url_required"},
		{"crm.example.com/hooks", false, "webhooks.error.url_invalid"},
		{"https://user:pw@crm.example.com/", false, "webhooks.error.url_invalid"},
		{"https://crm.example.com/#x", false, "webhooks.error.url_invalid"},
		{"ftp://crm.example.com/", true, "webhooks.error.url_https"},
		{"https:///nohost", false, "webhooks.error.url_invalid"},
		{"https://" + strings.Repeat("a", MaxWebhookURLLength), false, "request.error.too_long"},
	} {
		_, fe := CheckWebhookURL(c.url, c.allowHTTP)
		got := ""
		if fe != nil {
			got = fe.Msg
		}
		if got != c.want {
			t.Errorf("%.40q (http %v): %q, want %q", c.url, c.allowHTTP, got, c.want)
		}
	}
}

func TestCheckWebhookTypes(t *testing.T) {
	for _, c := range []struct {
		chosen  []string
		account AccountID
		want    string
		kept    int
	}{
		{[]string{"account_request.approved", "account_request.submitted", "account_request.approved"}, 0, "", 2},
		{nil, 0, "webhooks.error.types_required", 0},
		{[]string{"access_request.requested"}, 0, "webhooks.error.types_invalid", 0},
		{[]string{"account_request.submitted"}, 7, "webhooks.error.types_invalid", 0},
		{[]string{"access_request.requested", "access_request.declined"}, 7, "", 2},
		{[]string{"nonsense"}, 0, "webhooks.error.types_invalid", 0},
		{make([]string, 50), 0, "webhooks.error.types_invalid", 0},
	} {
		types, fe := checkWebhookTypes(c.chosen, c.account)
		got := ""
		if fe != nil {
			got = fe.Msg
		}
		if got != c.want || len(types) != c.kept {
			t.Errorf("%v for %d: %q %v, want %q and %d", c.chosen, c.account, got, types, c.want, c.kept)
		}
	}
}

func TestCanSeeWebhook(t *testing.T) {
	ada := User{ID: 1}
	for _, c := range []struct {
		e     WebhookEndpoint
		admin bool
		want  bool
	}{
		{WebhookEndpoint{OwnerID: 1}, false, true},
		{WebhookEndpoint{OwnerID: 2}, true, false},
		{WebhookEndpoint{OwnerID: 1, Account: 9}, true, true},
		{WebhookEndpoint{OwnerID: 1, Account: 9}, false, false},
		{WebhookEndpoint{OwnerID: 2, Account: 9}, true, false},
	} {
		if got := CanSeeWebhook(ada, c.e, c.admin); got != c.want {
			t.Errorf("%+v admin %v: %v", c.e, c.admin, got)
		}
	}
}

func TestWebhookSecretsAreWellFormed(t *testing.T) {
	a, b := NewWebhookSecret(), NewWebhookSecret()
	if a == b || !strings.HasPrefix(a, WebhookSecretPrefix) || len(a) != len(WebhookSecretPrefix)+44 {
		t.Errorf("secrets %q %q", a, b)
	}
}
