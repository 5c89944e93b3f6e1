package account

import "testing"

func TestMultiFactorAndSSOStep(t *testing.T) {
	for _, c := range []struct {
		amr         []string
		totp, staff bool
		multi       bool
		want        SignInStep
	}{
		{amr: []string{"pwd", "mfa"}, staff: true, multi: true, want: SignInDone},
		{amr: []string{"pwd", "OTP"}, totp: true, multi: true, want: SignInDone},
		{amr: []string{"hwk"}, staff: true, multi: true, want: SignInDone},
		{amr: []string{"pwd"}, staff: true, want: SignInEnroll},
		{amr: []string{"pwd"}, staff: true, totp: true, want: SignInCode},
		{amr: nil, totp: true, want: SignInCode},
		{amr: []string{"pwd", "kba"}, want: SignInDone},
	} {
		if got := MultiFactor(c.amr); got != c.multi {
			t.Errorf("MultiFactor(%v) = %v", c.amr, got)
		}
		if got := SSOStep(c.amr, c.totp, c.staff); got != c.want {
			t.Errorf("SSOStep(%v, totp %v, staff %v) = %v, want %v", c.amr, c.totp, c.staff, got, c.want)
		}
	}
}
