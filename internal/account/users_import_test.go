package account

import (
	"errors"
	"strings"
	"testing"
)

// Each row's outcome, judged against one account without a database: the
// rules the single add follows, row by row in the file's order.
func TestPlanImportOutcomes(t *testing.T) {
	const hank, uma, vera, nils = 1, 2, 3, 4 // hank is the only Administrator
	facts := func() ImportFacts {
		return ImportFacts{
			Users: map[string]int64{"hank@globex.example": hank, "uma@globex.example": uma,
				"vera@globex.example": vera, "nils@globex.example": nils},
			VirtualAccounts: []string{"DEFAULT", "Engineering"},
			Roles: map[ImportHolding]Role{
				{hank, ""}: RoleAdmin, {uma, ""}: RoleUser, {vera, "Engineering"}: RoleViewer,
			},
			Admins: []int64{hank},
		}
	}
	type want struct {
		outcome ImportOutcome
		reason  string
		from    Role
	}
	for _, tc := range []struct {
		name string
		rows []ImportRow
		want []want
	}{
		{"a new role on the Smart Account", []ImportRow{{Email: "nils@globex.example", Role: "viewer"}},
			[]want{{outcome: ImportAdd}}},
		{"a role word in any case, and the English name", []ImportRow{{Email: "Nils@Globex.example", Role: "Administrator"}},
			[]want{{outcome: ImportAdd}}},
		{"a role that differs", []ImportRow{{Email: "uma@globex.example", Role: "admin"}},
			[]want{{outcome: ImportChange, from: RoleUser}}},
		{"the role already held", []ImportRow{{Email: "uma@globex.example", Role: "USER"}},
			[]want{{outcome: ImportHas}}},
		{"a Virtual Account, named in another case", []ImportRow{{Email: "vera@globex.example", Role: "user", VirtualAccount: "engineering"}},
			[]want{{outcome: ImportChange, from: RoleViewer}}},
		{"the Smart Account and a Virtual Account are two places", []ImportRow{{Email: "vera@globex.example", Role: "viewer"}},
			[]want{{outcome: ImportAdd}}},
		{"not an address", []ImportRow{{Email: "vera at globex", Role: "user"}},
			[]want{{outcome: ImportRefused, reason: "users.error.email"}}},
		{"nobody has the address", []ImportRow{{Email: "ghost@globex.example", Role: "user"}},
			[]want{{outcome: ImportRefused, reason: "users.error.unknown"}}},
		{"an unknown role", []ImportRow{{Email: "nils@globex.example", Role: "owner"}},
			[]want{{outcome: ImportRefused, reason: "users.import.reason.role"}}},
		{"an empty role", []ImportRow{{Email: "nils@globex.example"}},
			[]want{{outcome: ImportRefused, reason: "users.import.reason.role"}}},
		{"an unknown Virtual Account", []ImportRow{{Email: "nils@globex.example", Role: "user", VirtualAccount: "Sales"}},
			[]want{{outcome: ImportRefused, reason: "access.error.va_unknown"}}},
		{"Approver on a Virtual Account", []ImportRow{{Email: "nils@globex.example", Role: "approver", VirtualAccount: "DEFAULT"}},
			[]want{{outcome: ImportRefused, reason: "users.import.reason.approver_va"}}},
		{"Approver on the Smart Account", []ImportRow{{Email: "nils@globex.example", Role: "approver"}},
			[]want{{outcome: ImportAdd}}},
		{"a cell past its bound", []ImportRow{{Email: "nils@globex.example", Role: "user", TooLong: "va"}},
			[]want{{outcome: ImportRefused, reason: "users.import.reason.too_long"}}},
		{"the same user and place twice, whatever the role", []ImportRow{
			{Line: 2, Email: "nils@globex.example", Role: "user"}, {Line: 3, Email: "NILS@globex.example", Role: "viewer"},
			{Line: 4, Email: "nils@globex.example", Role: "viewer", VirtualAccount: "DEFAULT"}},
			[]want{{outcome: ImportAdd}, {outcome: ImportRefused, reason: "users.import.reason.duplicate"}, {outcome: ImportAdd}}},
		{"the last Administrator keeps the role", []ImportRow{{Email: "hank@globex.example", Role: "user"}},
			[]want{{outcome: ImportRefused, reason: "users.error.last_admin"}}},
		{"an Administrator made earlier in the file lets the last one go", []ImportRow{
			{Email: "uma@globex.example", Role: "admin"}, {Email: "hank@globex.example", Role: "viewer"}},
			[]want{{outcome: ImportChange, from: RoleUser}, {outcome: ImportChange, from: RoleAdmin}}},
		{"later rows see what earlier rows do", []ImportRow{
			{Email: "uma@globex.example", Role: "admin"}, {Email: "hank@globex.example", Role: "viewer"}, {Email: "uma@globex.example", Role: "user", VirtualAccount: "Engineering"},
			{Email: "nils@globex.example", Role: "admin"}},
			[]want{{outcome: ImportChange, from: RoleUser}, {outcome: ImportChange, from: RoleAdmin}, {outcome: ImportAdd}, {outcome: ImportAdd}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanImport(tc.rows, facts())
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Outcome != w.outcome || g.Reason != w.reason || g.From != w.from {
					t.Errorf("row %d: %s %q from %q, want %s %q from %q", i, g.Outcome, g.Reason, g.From, w.outcome, w.reason, w.from)
				}
				if g.Applies() && (g.UserID == 0 || g.Role == "" || g.Address == "") {
					t.Errorf("row %d applies without its user, role or address: %+v", i, g)
				}
			}
		})
	}
	// A duplicate names the line it repeats.
	got := PlanImport([]ImportRow{{Line: 7, Email: "nils@globex.example", Role: "user"}, {Line: 9, Email: "nils@globex.example", Role: "user"}}, facts())
	if got[1].ReasonLine != 7 {
		t.Errorf("a duplicate names line %d, want 7", got[1].ReasonLine)
	}
	// Two Administrators demoted in turn: the second is the last.
	f := facts()
	f.Admins = []int64{hank, uma}
	f.Roles[ImportHolding{uma, ""}] = RoleAdmin
	got = PlanImport([]ImportRow{{Email: "uma@globex.example", Role: "user"}, {Email: "hank@globex.example", Role: "user"}}, f)
	if got[0].Outcome != ImportChange || got[1].Reason != "users.error.last_admin" {
		t.Errorf("demoting both Administrators: %+v", got)
	}
}

// The file as spreadsheets write it.
func TestParseUsersCSV(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []ImportRow
	}{
		{"commas, no header", "a@x.example,user\nb@x.example,viewer,DEFAULT\n",
			[]ImportRow{{Line: 1, Email: "a@x.example", Role: "user"}, {Line: 2, Email: "b@x.example", Role: "viewer", VirtualAccount: "DEFAULT"}}},
		{"a BOM, semicolons, a German header, CRLF and spaces", "\ufeffE-Mail;Rolle;Virtual Account\r\n  a@x.example ; admin ;  Sales \r\n\r\nb@x.example;user;\r\n",
			[]ImportRow{{Line: 2, Email: "a@x.example", Role: "admin", VirtualAccount: "Sales"}, {Line: 4, Email: "b@x.example", Role: "user"}}},
		{"quoted cells with the other separator inside", "email,role,virtual_account\n\"a@x.example\",user,\"Sales; EMEA\"\n",
			[]ImportRow{{Line: 2, Email: "a@x.example", Role: "user", VirtualAccount: "Sales; EMEA"}}},
		{"a first row that is a bad address is a row, not a header", "not-an-address,user\n",
			[]ImportRow{{Line: 1, Email: "not-an-address", Role: "user"}}},
		{"extra columns are ignored, a missing one is empty", "a@x.example,user,DEFAULT,note\nb@x.example\n",
			[]ImportRow{{Line: 1, Email: "a@x.example", Role: "user", VirtualAccount: "DEFAULT"}, {Line: 2, Email: "b@x.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUsersCSV([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	long := strings.Repeat("a", 300) + "@x.example,user\n"
	rows, err := ParseUsersCSV([]byte(long))
	if err != nil || rows[0].TooLong != "email" || len([]rune(rows[0].Email)) != MaxEmailLength+1 {
		t.Errorf("a long address: %+v %v", rows, err)
	}
	refused := func(file, msg string) {
		t.Helper()
		_, err := ParseUsersCSV([]byte(file))
		var fe FieldErrors
		if !errors.As(err, &fe) || fe["file"].Msg != msg {
			t.Errorf("%.40q: %v, want %s", file, err, msg)
		}
	}
	refused("", "users.import.error.empty")
	refused("email,role\n", "users.import.error.empty")
	refused("a@x.example,Z\xfcrich\n", "users.import.error.encoding")
	refused("a@x.example,user\x00\n", "users.import.error.control")
	refused("\"a@x.example,user\n", "users.import.error.syntax")
	refused("email,role\n"+strings.Repeat("a@x.example,user\n", MaxImportRows+1), "users.import.error.too_many")
	if rows, err := ParseUsersCSV([]byte("email,role\n" + strings.Repeat("a@x.example,user\n", MaxImportRows))); err != nil || len(rows) != MaxImportRows {
		t.Errorf("%d rows: %d, %v", MaxImportRows, len(rows), err)
	}
}
