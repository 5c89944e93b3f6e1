package account

import "time"

// EmailKind names an email's template.
type EmailKind string

const (
	// EmailApprovalRequest asks a customer to approve a new Smart Account; its
	// Secret is the approval token. Its Actor, when set, is the approver who
	// forwarded the request to this address.
	EmailApprovalRequest EmailKind = "approval_request"
	// EmailSubdomainNotice tells the administrators of an account that a new
	// account was requested under its domain.
	EmailSubdomainNotice EmailKind = "subdomain_notice"
	// EmailRequestConfirmation confirms a request to the partner who sent it.
	EmailRequestConfirmation EmailKind = "request_confirmation"
	// EmailAccessRequested asks a Smart Account's administrators to answer
	// someone's request for access.
	EmailAccessRequested EmailKind = "access_requested"
	// EmailAccessApproved tells a requester what access was granted (Role on
	// VirtualAccount, the entire Smart Account when it is ""); Actor is the
	// administrator, "" when a rule approved.
	EmailAccessApproved EmailKind = "access_approved"
	// EmailAccessDeclined tells a requester their request was declined, and
	// why when the administrator said (Reason).
	EmailAccessDeclined EmailKind = "access_declined"
	// EmailRequestDenied tells the partner the customer denied the request,
	// and why (Reason).
	EmailRequestDenied EmailKind = "request_denied"
	// EmailRequestApproved tells the partner the account is active.
	EmailRequestApproved EmailKind = "request_approved"
	// EmailAccountCreatedAdmin tells the approver they administer the new
	// account; its Secret, when set, is a set-password token.
	EmailAccountCreatedAdmin EmailKind = "account_created_admin"
	// EmailAddedUserWelcome gives an added user the Note to Added Users; its
	// Secret, when set, is a set-password token.
	EmailAddedUserWelcome EmailKind = "added_user_welcome"
	// EmailRequestExpired tells the customers and the partner that nobody
	// decided in time.
	EmailRequestExpired EmailKind = "request_expired"
	// EmailApprovalReminder reminds an approver with a live link, a week
	// before expiry; its Secret is a new approval token (see Reminder).
	EmailApprovalReminder EmailKind = "approval_reminder"
	// EmailRequestWithdrawn tells the approvers still holding a link that the
	// partner withdrew the request, so nobody acts on a dead link.
	EmailRequestWithdrawn EmailKind = "request_withdrawn"
	// EmailMessageToApprover carries a message on a request to an approver
	// (Note, written by Actor), with a new link in its Secret, as a resend's.
	EmailMessageToApprover EmailKind = "message_to_approver"
	// EmailMessageToPartner carries a message on a request to the partner
	// who sent it (Note, written by Actor).
	EmailMessageToPartner EmailKind = "message_to_partner"
	// EmailApproversNotOpened tells the partner that no approver has opened
	// the Pending Request page a week after the request went, with the way
	// to resend or change approvers.
	EmailApproversNotOpened EmailKind = "approvers_not_opened"
	// EmailAccessMessage carries a message on an access request (Note,
	// written by Actor) to its requester or to the account's administrators;
	// RequestID names the request.
	EmailAccessMessage EmailKind = "access_message"
)

// Email is one message to queue in the outbox with the change that causes it.
type Email struct {
	Kind EmailKind
	To   string
	// Lang is the recipient's language; "" lets the store use the saved language
	// of the user with that address, if any.
	Lang      string
	AccountID AccountID
	// Secret is what only the recipient may know, such as an approval token.
	// It is kept until delivered, then erased.
	Secret string
	Data   EmailData
}

// EmailData is what any email shows; each kind uses some of it.
type EmailData struct {
	AccountID      string   `json:"account_id,omitempty"`
	AccountName    string   `json:"account_name,omitempty"`
	Domain         string   `json:"domain,omitempty"`
	RequesterName  string   `json:"requester_name,omitempty"`
	RequesterEmail string   `json:"requester_email,omitempty"`
	PartnerName    string   `json:"partner_name,omitempty"`
	Note           string   `json:"note,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	VirtualAccount string   `json:"virtual_account,omitempty"`
	Actor          string   `json:"actor,omitempty"`
	Admin          string   `json:"admin,omitempty"`
	Role           Role     `json:"role,omitempty"`
	Approvers      []string `json:"approvers,omitempty"`
	// Users are the User Emails an approval would add (the approver sees
	// them before deciding), Held the approvers awaiting an operator's
	// review, LeftOut the users the approver did not keep.
	Users         []string  `json:"users,omitempty"`
	Held          []string  `json:"held,omitempty"`
	LeftOut       []string  `json:"left_out,omitempty"`
	ParentAccount string    `json:"parent_account,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	// RequestID is the access request an email is about.
	RequestID int64 `json:"request_id,omitempty"`
}

// EmailState is where an outbox row stands.
type EmailState string

const (
	EmailPending EmailState = "pending"
	EmailSending EmailState = "sending"
	EmailSent    EmailState = "sent"
	EmailFailed  EmailState = "failed"
)

// QueuedEmail is an outbox row.
type QueuedEmail struct {
	ID            int64
	MessageID     string
	Email         Email
	State         EmailState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// EmailClaim is one claim of an email by a worker: attempt is the email's
// attempt count the claim raised it to. Any later claim raises it again, so
// an outcome recorded under an older claim is refused (ErrClaimLost).
type EmailClaim struct {
	ID      int64
	Attempt int
}

// Claim is the claim under which q was handed to a worker.
func (q QueuedEmail) Claim() EmailClaim { return EmailClaim{ID: q.ID, Attempt: q.Attempts} }

// OutboxDepth is how many emails of one kind wait in the outbox, and how
// long the oldest that is due has waited past its time.
type OutboxDepth struct {
	Kind      EmailKind
	Waiting   int
	OldestDue time.Duration
}
