package agent

import (
	"crypto/ecdh"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// State is everything the client keeps: its contacts and their queues.
type State struct {
	// Clean is true when the last process to use the state exited in
	// order; after a crash, counters may be behind what was sent.
	Clean    bool                `json:"clean"`
	Contacts map[string]*Contact `json:"contacts"`
}

// Contact statuses.
const (
	StatusInvited   = "invited"   // our queue and invitation exist; waiting for their confirmation
	StatusAccepted  = "accepted"  // their confirmation came; we confirmed their queue; waiting for their hello
	StatusJoining   = "joining"   // we confirmed their queue; waiting for their confirmation on ours
	StatusConnected = "connected" // both queues secured: messages flow both ways
)

// Contact is one conversation: the queue we receive on and the one we
// send to, each with its own keys.
type Contact struct {
	Name   string     `json:"name"`
	Status string     `json:"status"`
	Recv   *RecvQueue `json:"recv"`
	Send   *SendQueue `json:"send,omitempty"`
	// Inbox holds the messages accepted (counted as seen, acknowledged)
	// but not yet taken from Agent.Events, at most maxInbox: a process
	// killed before its user saw one would lose it otherwise, as the
	// server's copy is gone or would now be a duplicate.
	Inbox []Event `json:"inbox,omitempty"`
}

// maxInbox bounds the messages kept per contact until the user takes
// them, and maxInboxBytes their text over all contacts (within the
// state's 16 MiB). When either is reached, messages wait on the server.
const (
	maxInbox      = 32
	maxInboxBytes = 4 << 20
)

// RecvQueue is a queue we created and receive from.
type RecvQueue struct {
	Server       string   `json:"server"`
	RID          []byte   `json:"rid"`
	SID          []byte   `json:"sid,omitempty"` // forgotten once the queue is secured
	RecipientKey []byte   `json:"recipientKey"`  // PKCS#8
	ServerSecret []byte   `json:"serverSecret"`
	EncKey       []byte   `json:"encKey"`             // X25519 private: the E in the invitation
	PeerDH       []byte   `json:"peerDH,omitempty"`   // the sender's X25519 public, from its confirmation
	Securing     string   `json:"securing,omitempty"` // the sender key of the KEY sent, until it is known applied
	LastSeq      uint64   `json:"lastSeq"`
	LastHash     []byte   `json:"lastHash,omitempty"`
	Missing      []uint64 `json:"missing,omitempty"` // skipped sequence numbers that may still come
	Resync       bool     `json:"resync,omitempty"`  // v1 state only: re-baseline on the next message (after our crash)
	Epoch        string   `json:"epoch,omitempty"`   // the sender's current epoch ("" until its first restart)
	Epochs       []string `json:"epochs,omitempty"`  // its earlier epochs, the last maxEpochs
}

// SendQueue is a peer's queue we send to.
type SendQueue struct {
	Server    string `json:"server"`
	SID       []byte `json:"sid"`
	SenderKey []byte `json:"senderKey"` // PKCS#8
	DH        []byte `json:"dh"`        // our X25519 private for this queue
	PeerEK    []byte `json:"peerEK"`    // their X25519 public: the E of their invitation
	Seq       uint64 `json:"seq"`       // the last sequence number used
	Reserved  uint64 `json:"reserved"`  // numbers up to this may have been used before a crash
	LastHash  []byte `json:"lastHash,omitempty"`
	Resync    bool   `json:"resync,omitempty"` // the next message tells the peer we restarted
	Epoch     string `json:"epoch,omitempty"`  // ours, new at each restart after a crash; "" before the first
	// restart: this process started after a clean exit. The next
	// message starts a new epoch as Resync does, but names the last
	// message sent as Prev: the chain goes on, and the peer sees no
	// restart. Not saved: a crash before it went leaves the file unclean.
	restart bool
	Answer  []byte `json:"answer,omitempty"` // our sealed confirmation of their queue: the inviter's until their hello, the joiner's until connected
}

// reserveBlock is how many sequence numbers are reserved per save: the
// state is saved once per block, not per message.
const reserveBlock = 256

// maxEpochs bounds the sender restarts remembered per queue: 64 of 22
// bytes. One forgotten is still safe (see RecvQueue.accept); remembering
// it only names a replay from it as such.
const maxEpochs = 64

// epochSize is the random bytes in an epoch's name.
const epochSize = 16

// maxMissing bounds the skipped sequence numbers remembered per queue.
const maxMissing = 1024

var contactName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// CheckName accepts contact names: 1 to 32 of A-Z a-z 0-9 . _ -.
func CheckName(name string) error {
	if !contactName.MatchString(name) {
		return fmt.Errorf("contact name %q: use 1 to 32 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

func newState() *State { return &State{Contacts: map[string]*Contact{}} }

// inbox is every contact's inbox, contact by contact in name order.
func (st *State) inbox() []Event {
	var out []Event
	for _, n := range st.Names() {
		for _, e := range st.Contacts[n].Inbox {
			e.Again = true
			out = append(out, e)
		}
	}
	return out
}

// inboxBytes is the text the inboxes hold.
func (st *State) inboxBytes() int {
	n := 0
	for _, c := range st.Contacts {
		for _, e := range c.Inbox {
			n += len(e.Text)
		}
	}
	return n
}

// taken removes message e from its contact's inbox, the user has it, and
// says whether it was there.
func (st *State) taken(e Event) bool {
	c := st.Contacts[e.Contact]
	if c == nil {
		return false
	}
	for i, m := range c.Inbox {
		if m.Seq == e.Seq && m.Text == e.Text {
			c.Inbox = slices.Delete(c.Inbox, i, i+1)
			return true
		}
	}
	return false
}

func (st *State) check() error {
	for name, c := range st.Contacts {
		if c == nil || c.Recv == nil || c.Name != name {
			return fmt.Errorf("state: contact %q is incomplete", name)
		}
	}
	return nil
}

// Names are the contacts, sorted.
func (st *State) Names() []string {
	var out []string
	for n := range st.Contacts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// byQueue finds the contact receiving on queue rid of server (its
// address as smp.Address.String writes it). Recipient IDs are unique
// only per server: another server can hand out an ID that one of ours
// uses, and its deliveries must not reach that contact.
func (st *State) byQueue(server string, rid []byte) *Contact {
	for _, c := range st.Contacts {
		if c.Recv.Server == server && string(c.Recv.RID) == string(rid) {
			return c
		}
	}
	return nil
}

func marshalPKCS8(priv any) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(priv) }

func loadSigner(der []byte) (signer.Signer, error) {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("state: a signing key does not parse: %w", err)
	}
	return signer.NewKeySigner(priv)
}

func loadDHPrivate(b []byte) (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return nil, errors.New("state: an X25519 key does not parse")
	}
	return k, nil
}

func loadDHPublic(b []byte) (*ecdh.PublicKey, error) {
	k, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, errors.New("state: an X25519 key does not parse")
	}
	if err := checkX25519(k); err != nil {
		return nil, fmt.Errorf("state: a peer's key: %w", err)
	}
	return k, nil
}

// queue rebuilds the client's view of a receive queue.
func (r *RecvQueue) queue() (*client.Queue, smp.Address, error) {
	addr, err := smp.ParseAddress(r.Server)
	if err != nil {
		return nil, addr, err
	}
	k, err := loadSigner(r.RecipientKey)
	if err != nil {
		return nil, addr, err
	}
	return client.RestoreQueue(r.RID, r.SID, k, r.ServerSecret), addr, nil
}
