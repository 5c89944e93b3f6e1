package account

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheckMessage(t *testing.T) {
	for _, c := range []struct {
		in, want string
		msg      string
	}{
		{"  Is this for EMEA?\r\n", "Is this for EMEA?", ""},
		{strings.Repeat("é", MaxMessageLength), strings.Repeat("é", MaxMessageLength), ""},
		{"see https://example.com/x", "see https://example.com/x", ""},
		{strings.Repeat("a\r\n", MaxMessageLength/2-1) + "bc", strings.Repeat("a\n", MaxMessageLength/2-1) + "bc", ""},
		{" \n\t", "", "conversation.error.required"},
		{strings.Repeat("x", MaxMessageLength+1), "", "request.error.too_long"},
		{"nul\x00", "", "conversation.error.text"},
		{"\xff", "", "conversation.error.text"},
	} {
		got, err := checkMessage(c.in)
		var fe FieldErrors
		switch {
		case c.msg == "" && (err != nil || got != c.want):
			t.Errorf("checkMessage(%.20q) = %.20q, %v", c.in, got, err)
		case c.msg != "" && (!errors.As(err, &fe) || fe["message"].Msg != c.msg):
			t.Errorf("checkMessage(%.20q): %v, want %s", c.in, err, c.msg)
		}
	}
}

func TestReminderSteps(t *testing.T) {
	var s AccountRequests
	if got := s.reminderSteps(); !slices.Equal(got, []int{1, 7, 30}) {
		t.Errorf("default steps %v, want the one due last first", got)
	}
	s.SetReminderDays([]int{14, 3, 14})
	if got := s.reminderSteps(); !slices.Equal(got, []int{3, 14}) {
		t.Errorf("steps %v", got)
	}
	if ReminderStep(7) != "reminder_7d" {
		t.Error(ReminderStep(7))
	}
}
