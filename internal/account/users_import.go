package account

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// "Add users from CSV" on a Smart Account's Users page: an administrator
// uploads a file of email, role and an optional Virtual Account, sees what
// each row would do, and applies the preview as it was shown, in one
// transaction or not at all. Each row is judged by the rules a single add
// follows (the user must exist, Approver is a Smart Account role, the last
// Administrator stays), so the file can do nothing the form could not.

// Bounds of one file.
const (
	// MaxImportBytes bounds the upload's whole request body.
	MaxImportBytes = 1 << 20
	// MaxImportRows bounds the rows of one file, its header not counted.
	MaxImportRows = 5000
	// MaxImportRoleLength bounds a role cell; no role word is longer.
	MaxImportRoleLength = 32
	// MaxImportFileName bounds the file's name as it is kept and shown.
	MaxImportFileName = 255
	// ImportLifetime is how long a preview can be applied.
	ImportLifetime = time.Hour
	// importIDBytes is the entropy of a preview's id.
	importIDBytes = 24
)

// ImportRow is one row of the file as written, its cells trimmed and cut
// to their bounds (a cut cell is refused, so its end need not be kept).
type ImportRow struct {
	Line           int    `json:"line"` // the file's line number, for people
	Email          string `json:"email"`
	Role           string `json:"role"`
	VirtualAccount string `json:"va,omitempty"`
	// TooLong names a cell past its bound ("email", "role", "va").
	TooLong string `json:"too_long,omitempty"`
}

// ImportOutcome is what applying a row does.
type ImportOutcome string

const (
	ImportAdd     ImportOutcome = "add"     // the user gets a role they did not hold there
	ImportChange  ImportOutcome = "change"  // the user's role there changes
	ImportHas     ImportOutcome = "has"     // the user already holds that role there
	ImportRefused ImportOutcome = "refused" // nothing happens; Reason says why
)

// ImportLine is one row with its outcome.
type ImportLine struct {
	ImportRow
	Outcome ImportOutcome `json:"outcome"`
	// Reason is the message id of a refusal; ReasonLine the line a
	// duplicate repeats.
	Reason     string `json:"reason,omitempty"`
	ReasonLine int    `json:"reason_line,omitempty"`
	UserID     int64  `json:"user_id,omitempty"`
	Address    string `json:"address,omitempty"` // the email normalized
	Role       Role   `json:"parsed_role,omitempty"`
	From       Role   `json:"from,omitempty"` // a change's role before
	// Scope is the Virtual Account's name as the account spells it; "" is
	// the Smart Account.
	Scope string `json:"scope,omitempty"`
}

// Applies reports whether applying the line changes a role.
func (l ImportLine) Applies() bool { return l.Outcome == ImportAdd || l.Outcome == ImportChange }

// ImportHolding is one user's place on the account: the Smart Account ("")
// or one Virtual Account by name.
type ImportHolding struct {
	UserID         int64
	VirtualAccount string
}

// ImportFacts is what judging a file needs to know of the account.
type ImportFacts struct {
	// Users are the existing users the file names, by normalized address.
	Users map[string]int64
	// VirtualAccounts are the account's Virtual Accounts' names.
	VirtualAccounts []string
	// Roles are the roles those users hold on the account now.
	Roles map[ImportHolding]Role
	// Admins are every Administrator of the Smart Account itself.
	Admins []int64
}

// importRoleWords are the words a role cell may hold, in any case: the
// values the single add posts and the English names it shows.
var importRoleWords = map[string]Role{
	"admin": RoleAdmin, "administrator": RoleAdmin,
	"user": RoleUser, "viewer": RoleViewer, "approver": RoleApprover,
}

// ParseImportRole is the role a cell names.
func ParseImportRole(s string) (Role, bool) {
	r, ok := importRoleWords[strings.ToLower(strings.TrimSpace(s))]
	return r, ok
}

// PlanImport judges each row against the account as facts describe it, in
// the file's order: later rows see what earlier ones would do, so two rows
// cannot both take the last Administrator's role away.
func PlanImport(rows []ImportRow, f ImportFacts) []ImportLine {
	out := make([]ImportLine, len(rows))
	seen := map[string]int{}
	admins := map[int64]bool{}
	for _, id := range f.Admins {
		admins[id] = true
	}
	for i, row := range rows {
		out[i] = judgeImportRow(row, f, seen, admins)
	}
	return out
}

// judgeImportRow is PlanImport's judgement of one row. seen holds the line
// of each address and scope judged so far, admins the Smart Account's
// Administrators once the rows before have been applied; both are updated
// for the rows after.
func judgeImportRow(row ImportRow, f ImportFacts, seen map[string]int, admins map[int64]bool) ImportLine {
	refused := func(reason string) ImportLine {
		return ImportLine{ImportRow: row, Outcome: ImportRefused, Reason: reason}
	}
	if row.TooLong != "" {
		return refused("users.import.reason.too_long")
	}
	email, err := NormalizeEmail(row.Email)
	if err != nil {
		return refused("users.error.email")
	}
	scope, ok := "", true
	if va := strings.TrimSpace(row.VirtualAccount); va != "" {
		scope, ok = virtualAccountNamed(f.VirtualAccounts, va)
	}
	if !ok {
		return refused("access.error.va_unknown")
	}
	key := email + "\x00" + strings.ToLower(scope)
	if first, dup := seen[key]; dup {
		l := refused("users.import.reason.duplicate")
		l.ReasonLine = first
		return l
	}
	seen[key] = row.Line
	role, ok := ParseImportRole(row.Role)
	if !ok {
		return refused("users.import.reason.role")
	}
	if role == RoleApprover && scope != "" {
		return refused("users.import.reason.approver_va")
	}
	userID, ok := f.Users[email]
	if !ok {
		return refused("users.error.unknown")
	}
	if scope == "" && admins[userID] && role != RoleAdmin {
		if len(admins) == 1 {
			return refused("users.error.last_admin")
		}
		delete(admins, userID)
	}
	if scope == "" && role == RoleAdmin {
		admins[userID] = true
	}
	l := ImportLine{ImportRow: row, UserID: userID, Address: email, Role: role, Scope: scope}
	switch current := f.Roles[ImportHolding{UserID: userID, VirtualAccount: scope}]; current {
	case role:
		l.Outcome = ImportHas
	case "":
		l.Outcome = ImportAdd
	default:
		l.Outcome, l.From = ImportChange, current
	}
	return l
}

// virtualAccountNamed is the account's spelling of name; names are one
// whatever their case.
func virtualAccountNamed(names []string, name string) (string, bool) {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// ImportEmails is the addresses of the rows that hold one, normalized, for
// looking their users up.
func ImportEmails(rows []ImportRow) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if e, err := NormalizeEmail(r.Email); err == nil && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// utf8BOM is what spreadsheets put before UTF-8 text.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// ParseUsersCSV reads a file of email, role and an optional Virtual
// Account: UTF-8 with or without a byte-order mark, cells separated by
// commas or (as spreadsheets in German, French, Italian and Dutch write
// them) semicolons, an optional first row of column names, spaces around
// cells ignored. A file it cannot read at all is a FieldErrors on "file".
func ParseUsersCSV(data []byte) ([]ImportRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	switch CheckText(string(data)) {
	case TextInvalidUTF8:
		return nil, FieldErrors{"file": {Msg: "users.import.error.encoding"}}
	case TextControl:
		return nil, FieldErrors{"file": {Msg: "users.import.error.control"}}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = separator(data)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var rows []ImportRow
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, FieldErrors{"file": {Msg: "users.import.error.syntax", Args: []any{"Line", pe.StartLine}}}
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		cells := make([]string, 3)
		for i := range min(len(rec), 3) {
			cells[i] = strings.TrimSpace(rec[i])
		}
		if cells[0] == "" && cells[1] == "" && cells[2] == "" {
			continue
		}
		if first && isImportHeader(cells) {
			first = false
			continue
		}
		first = false
		if len(rows) == MaxImportRows {
			return nil, FieldErrors{"file": {Msg: "users.import.error.too_many", Args: []any{"Max", MaxImportRows}}}
		}
		row := ImportRow{Line: line}
		row.Email, row.TooLong = boundCell(cells[0], MaxEmailLength, "email", row.TooLong)
		row.Role, row.TooLong = boundCell(cells[1], MaxImportRoleLength, "role", row.TooLong)
		row.VirtualAccount, row.TooLong = boundCell(cells[2], MaxNameLength, "va", row.TooLong)
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, FieldErrors{"file": {Msg: "users.import.error.empty"}}
	}
	return rows, nil
}

// separator is ';' when the first line has more semicolons than commas
// outside quotes, else ','.
func separator(data []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, c := range data {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			if semis > commas {
				return ';'
			}
			return ','
		case c == ',':
			commas++
		case c == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// isImportHeader says a first row names columns rather than a user: its
// first cell is no address and its second no role word ("email,role",
// "E-Mail;Rolle;Virtual Account").
func isImportHeader(cells []string) bool {
	_, role := ParseImportRole(cells[1])
	return !strings.Contains(cells[0], "@") && !role
}

// boundCell cuts s to max characters; a cut cell's name goes to tooLong
// unless an earlier one is there already.
func boundCell(s string, max int, name, tooLong string) (string, string) {
	if utf8.RuneCountInString(s) <= max {
		return s, tooLong
	}
	if tooLong == "" {
		tooLong = name
	}
	return string([]rune(s)[:max]) + "…", tooLong
}

// UsersImport is a stored preview.
type UsersImport struct {
	ID        string
	AccountID AccountID
	UserID    int64
	FileName  string
	Lines     []ImportLine
	CreatedAt time.Time
	ExpiresAt time.Time
	AppliedAt time.Time // zero until applied
}

// Counts counts a preview's lines by outcome.
func (im UsersImport) Counts() map[ImportOutcome]int {
	out := map[ImportOutcome]int{}
	for _, l := range im.Lines {
		out[l.Outcome]++
	}
	return out
}

// UsersImportStore keeps previews and applies them.
type UsersImportStore interface {
	// UserImportFacts is what PlanImport needs of account id for rows
	// naming emails.
	UserImportFacts(ctx context.Context, id AccountID, emails []string) (ImportFacts, error)
	// SaveUsersImport stores a new preview.
	SaveUsersImport(ctx context.Context, im UsersImport) error
	// UsersImport is preview importID of account id made by userID;
	// ErrNotFound for anyone else's, another account's or an expired one.
	UsersImport(ctx context.Context, id AccountID, userID int64, importID string, now time.Time) (UsersImport, error)
	// ApplyUsersImport, under the account's lock, judges the preview's rows
	// again with plan; when every line's outcome is what the preview
	// showed, it applies every line that applies, records an
	// access_changed event for each and marks the preview applied, all in
	// one transaction. Otherwise it stores the new lines in the preview and
	// returns *ImportChangedError, changing no role. ErrImportApplied when
	// it was applied already.
	ApplyUsersImport(ctx context.Context, a ImportApply) (UsersImport, error)
}

// ImportApply is one Apply of a preview.
type ImportApply struct {
	AccountID AccountID
	ImportID  string
	UserID    int64
	Actor     string
	At        time.Time
	Plan      func(rows []ImportRow, f ImportFacts) []ImportLine
}

// ErrImportApplied: a preview is applied once.
var ErrImportApplied = fmt.Errorf("the users import was applied already: %w", ErrConflict)

// ImportChangedError says the account changed since the preview: Import
// holds the preview judged anew, and nothing was applied.
type ImportChangedError struct{ Import UsersImport }

func (e *ImportChangedError) Error() string {
	return "the account changed since users import " + e.Import.ID + " was previewed"
}

// SameOutcomes reports whether two judgements of the same rows agree on
// every line: its outcome, role, user and scope.
func SameOutcomes(a, b []ImportLine) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Outcome != y.Outcome || x.Reason != y.Reason || x.UserID != y.UserID || x.Role != y.Role || x.From != y.From || x.Scope != y.Scope {
			return false
		}
	}
	return true
}

// MayManageUsers is nil when u may give roles on account id (its
// Administrator), else ErrNotFound, as for every Account Management page.
func (s *AccessManagement) MayManageUsers(ctx context.Context, u User, id AccountID) error {
	_, err := administered(ctx, s.store, u, id)
	return err
}

// usersImportTemplate is the file an administrator fills in: the column
// names and one example row for each kind of scope.
const usersImportTemplate = "email,role,virtual_account\r\n" +
	"name@example.com,user,\r\n" +
	"other@example.com,viewer," + DefaultVirtualAccount + "\r\n"

// UsersImportTemplate is the template file, for account id's Administrator.
func (s *AccessManagement) UsersImportTemplate(ctx context.Context, u User, id AccountID) ([]byte, error) {
	if err := s.MayManageUsers(ctx, u, id); err != nil {
		return nil, err
	}
	return []byte(usersImportTemplate), nil
}

// PreviewUsersImport reads an uploaded file for account id's Administrator
// u, judges each row and stores the preview; nothing else changes.
func (s *AccessManagement) PreviewUsersImport(ctx context.Context, u User, id AccountID, fileName string, data []byte) (UsersImport, error) {
	if _, err := administered(ctx, s.store, u, id); err != nil {
		return UsersImport{}, err
	}
	rows, err := ParseUsersCSV(data)
	if err != nil {
		return UsersImport{}, err
	}
	facts, err := s.store.UserImportFacts(ctx, id, ImportEmails(rows))
	if err != nil {
		return UsersImport{}, fmt.Errorf("facts for a users import to %s: %w", id, err)
	}
	now := s.clock.Now()
	fileName, _ = boundCell(strings.TrimSpace(fileName), MaxImportFileName-1, "", "")
	if CheckText(fileName) != TextOK {
		fileName = ""
	}
	im := UsersImport{ID: randomToken(importIDBytes), AccountID: id, UserID: u.ID, FileName: fileName,
		Lines: PlanImport(rows, facts), CreatedAt: now, ExpiresAt: now.Add(ImportLifetime)}
	if err := s.store.SaveUsersImport(ctx, im); err != nil {
		return UsersImport{}, fmt.Errorf("save users import to %s: %w", id, err)
	}
	return im, nil
}

// UsersImport opens a preview for the Administrator who made it.
func (s *AccessManagement) UsersImport(ctx context.Context, u User, id AccountID, importID string) (SmartAccount, UsersImport, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return SmartAccount{}, UsersImport{}, err
	}
	if !wellFormedRandom(importID, importIDBytes) {
		return SmartAccount{}, UsersImport{}, fmt.Errorf("users import of %s: %w", id, ErrNotFound)
	}
	im, err := s.store.UsersImport(ctx, id, u.ID, importID, s.clock.Now())
	if err != nil {
		return SmartAccount{}, UsersImport{}, fmt.Errorf("users import %s of %s: %w", importID, id, err)
	}
	return a, im, nil
}

// ApplyUsersImport applies a preview exactly as shown, or, when the account
// changed so that a row would now do something else, nothing: the
// *ImportChangedError then holds the preview judged anew. The account comes
// with it, for showing the preview again.
func (s *AccessManagement) ApplyUsersImport(ctx context.Context, u User, id AccountID, importID string) (SmartAccount, UsersImport, error) {
	a, err := administered(ctx, s.store, u, id)
	if err != nil {
		return SmartAccount{}, UsersImport{}, err
	}
	if !wellFormedRandom(importID, importIDBytes) {
		return SmartAccount{}, UsersImport{}, fmt.Errorf("apply users import to %s: %w", id, ErrNotFound)
	}
	im, err := s.store.ApplyUsersImport(ctx, ImportApply{AccountID: id, ImportID: importID, UserID: u.ID,
		Actor: u.Email, At: s.clock.Now(), Plan: PlanImport})
	var changed *ImportChangedError
	if err != nil && !errors.As(err, &changed) {
		return SmartAccount{}, UsersImport{}, fmt.Errorf("apply users import %s to %s: %w", importID, id, err)
	}
	return a, im, err
}
