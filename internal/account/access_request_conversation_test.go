package account

import "testing"

// TestWhoWritesOnAnAccessRequest: the user who asked and the Smart
// Account's own Administrators write on an access request while it waits;
// anyone else (another user, staff, a Virtual Account's Administrator, the
// Administrator of another account) has no side and finds no request.
func TestWhoWritesOnAnAccessRequest(t *testing.T) {
	active := SmartAccount{ID: 7, Status: StatusActive}
	other := SmartAccount{ID: 8, Status: StatusActive}
	expired := SmartAccount{ID: 7, Status: StatusExpired}
	requester := User{ID: 1}
	admin := User{ID: 2}
	pending := AccessRequest{ID: 40, UserID: 1, AccountID: 7, Status: AccessPending}
	for _, c := range []struct {
		name    string
		u       User
		r       AccessRequest
		a       SmartAccount
		rel     Relation
		side    string
		mayPost bool
	}{
		{"the requester", requester, pending, active, Relation{}, SideRequester, true},
		{"the requester, once approved", requester, withStatus(pending, AccessApproved), active, Relation{Role: RoleUser}, SideRequester, false},
		{"the requester, once declined", requester, withStatus(pending, AccessDeclined), active, Relation{}, SideRequester, false},
		{"the requester who meanwhile administers it", requester, pending, active, Relation{Role: RoleAdmin}, SideRequester, true},
		{"an administrator", admin, pending, active, Relation{Role: RoleAdmin}, SideAdministrator, true},
		{"an administrator, once decided", admin, withStatus(pending, AccessDeclined), active, Relation{Role: RoleAdmin}, SideAdministrator, false},
		{"an administrator of an account no longer active", admin, pending, expired, Relation{Role: RoleAdmin}, "", false},
		{"another account's administrator", admin, pending, other, Relation{Role: RoleAdmin}, "", false},
		{"a Virtual Account's administrator", admin, pending, active, Relation{VARole: RoleAdmin}, "", false},
		{"a user of the account", admin, pending, active, Relation{Role: RoleUser}, "", false},
		{"an approver of the account", admin, pending, active, Relation{Role: RoleApprover}, "", false},
		{"staff", User{ID: 3, Staff: true}, pending, active, Relation{}, "", false},
		{"nobody signed in", User{}, AccessRequest{AccountID: 7, Status: AccessPending}, active, Relation{}, "", false},
	} {
		side := AccessRequestSide(c.u, c.r, c.a, c.rel)
		if side != c.side {
			t.Errorf("%s: side %q, want %q", c.name, side, c.side)
		}
		if got := MayWriteOnAccessRequest(side, c.r); got != c.mayPost {
			t.Errorf("%s: may write %v, want %v", c.name, got, c.mayPost)
		}
	}
}

func withStatus(r AccessRequest, s AccessRequestStatus) AccessRequest {
	r.Status = s
	return r
}
