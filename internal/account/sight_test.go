package account

import "testing"

// TestPageVirtualAccountsFollowSight: a section whose statement reads its
// rows' Virtual Accounts (pageVirtualAccounts) lists only rows whose
// viewer SightOf lets see them, whatever the account's state and whatever
// else the viewer is to it; the sections it leaves to a later read are
// those where SightOf decides row by row. Were SightOf to start hiding
// Virtual Accounts from some of a section's rows (of a denied account,
// say), this fails rather than let the page read what it may not show.
func TestPageVirtualAccountsFollowSight(t *testing.T) {
	roles := []Role{"", RoleViewer, RoleUser, RoleApprover, RoleAdmin}
	// listed says whether a section can list an account its viewer stands
	// in relation rel to, as the store's statements choose their rows.
	listed := map[Section]func(rel Relation) bool{
		SectionAccess:    func(rel Relation) bool { return rel.HasRole() },
		SectionCreated:   func(rel Relation) bool { return rel.Creator },
		SectionRequested: func(rel Relation) bool { return rel.AskedAccess },
		SectionDomain:    func(rel Relation) bool { return !rel.HasRole() && !rel.Creator },
	}
	for _, staff := range []bool{false, true} {
		viewer := User{ID: 7, Email: "ada@northwind.example", Staff: staff}
		for _, sec := range Sections {
			n := pageVirtualAccounts(viewer, sec)
			// Staff see every account's; anyone else on a role or on
			// having asked for the account, which the first and the third
			// sections give every row.
			wantRead := staff || sec == SectionAccess || sec == SectionCreated
			if (n > 0) != wantRead || (n > 0 && n != MaxListedVirtualAccounts) {
				t.Errorf("staff %v, %s: reads %d Virtual Accounts a row, want them read: %v", staff, sec, n, wantRead)
			}
			if n == 0 {
				continue
			}
			checked := 0
			for _, role := range roles {
				for _, vaRole := range roles {
					for bits := range 8 {
						rel := Relation{Role: role, VARole: vaRole, Creator: bits&1 != 0, AskedAccess: bits&2 != 0, ExactMatch: bits&4 != 0}
						if !listed[sec](rel) {
							continue
						}
						for _, status := range []Status{StatusPending, StatusActive, StatusDenied, StatusExpired} {
							for _, restricted := range []bool{false, true} {
								a := SmartAccount{ID: 42, Status: status, Restricted: restricted}
								checked++
								if !SightOf(viewer, a, rel).VirtualAccounts {
									t.Errorf("staff %v, %s reads the Virtual Accounts of %+v, whom SightOf hides them from (relation %+v)", staff, sec, a, rel)
								}
							}
						}
					}
				}
			}
			if checked == 0 {
				t.Errorf("staff %v, %s: no row checked", staff, sec)
			}
		}
	}
}
