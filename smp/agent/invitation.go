// Package agent builds conversations on SMP queues: out-of-band
// invitations, the spec's confirmation procedure, end-to-end encryption
// per queue (NaCl crypto_box), duplex conversations from two queues,
// message ordering and duplicate detection, and the client's state,
// encrypted at rest.
package agent

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/smp"
)

// Invitation is the spec's out-of-band message: what a sender needs to
// send to a new queue. It carries no secret that lets anyone read the
// conversation, but whoever has it can send the first (unsigned) message,
// so it travels over a channel both people trust.
type Invitation struct {
	EncryptionKey *ecdh.PublicKey // X25519: the recipient's end-to-end key for this queue
	SenderID      []byte
	Server        smp.Address
}

// ErrNoHost refuses a server address without a host: dialing it would
// reach this machine.
var ErrNoHost = errors.New("invitation: the server address has no host")

// ErrUnspecifiedHost refuses a server address that names no machine in
// particular: 0.0.0.0, ::, or a number a resolver reads as an address
// ("0", "127.1", "0x7f.1"). Dialing it reaches this machine. Loopback
// addresses (127.0.0.1, ::1, localhost) are allowed: they say what they
// are, and a server on this machine is how one tests locally.
var ErrUnspecifiedHost = errors.New("invitation: the server address is unspecified (0.0.0.0, ::, or a number read as an address): dialing it would reach this machine")

// checkHost refuses a host that is empty, unspecified, an IPv4-mapped
// IPv6 address (the IPv4 address has its own spelling), or a name whose
// last label is a number: not a DNS name but an address in a form only
// some resolvers read (inet_aton's "127.1", "0", "0x7f.1").
func checkHost(host string) error {
	if host == "" {
		return ErrNoHost
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return ErrUnspecifiedHost
		}
		if ip.To4() != nil && strings.Contains(host, ":") {
			return errors.New("invitation: the server address is an IPv4-mapped IPv6 address; write the IPv4 address")
		}
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	last := strings.ToLower(name[strings.LastIndex(name, ".")+1:])
	if last == "" || strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return ErrUnspecifiedHost
	}
	return nil
}

// maxInvitation bounds what ParseInvitation reads.
const maxInvitation = 1024

// String is the spec's form:
// encryptionKey SP senderConnId SP server SP serverKeyHash.
func (inv *Invitation) String() string {
	fp, _ := b64.RawURL(inv.Server.Fingerprint)
	return strings.Join([]string{
		smp.EncodeDHKey(inv.EncryptionKey), smp.Encode(inv.SenderID),
		net.JoinHostPort(inv.Server.Host, strconv.Itoa(inv.Server.Port)), smp.Encode(fp),
	}, " ")
}

// URI is the invitation as an smp:// URI; the queue's details are in the
// fragment, which clients do not send anywhere.
func (inv *Invitation) URI() string {
	spki, _ := smp.DecodeBase64(smp.EncodeDHKey(inv.EncryptionKey))
	return fmt.Sprintf("smp://%s@%s/invitation#ek=%s&sid=%s", inv.Server.Fingerprint,
		net.JoinHostPort(inv.Server.Host, strconv.Itoa(inv.Server.Port)),
		base64.RawURLEncoding.EncodeToString(spki), base64.RawURLEncoding.EncodeToString(inv.SenderID))
}

// ParseInvitation reads either form only as String or URI writes it, the
// spec's form also without the default port. One invitation then has one
// spelling per form: no escapes, no other base64, no other host or port
// syntax, no white space around it (a user interface that takes pasted
// text trims it first), and the encryption key in its one X25519 encoding.
// Each of these is refused with an error that names it: a server address
// without a host (it would dial this machine), a password in the URI, a
// fragment parameter given twice, and a low-order encryption key (the
// sealed confirmation would be readable by anyone; ErrLowOrderKey).
func ParseInvitation(s string) (*Invitation, error) {
	if len(s) > maxInvitation {
		return nil, fmt.Errorf("invitation: longer than %d bytes", maxInvitation)
	}
	parse := parseInvitationSpec
	if strings.HasPrefix(s, "smp://") {
		parse = parseInvitationURI
	}
	inv, err := parse(s)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(inv.forms(), s) {
		return nil, fmt.Errorf("invitation: not in canonical form")
	}
	return inv, nil
}

// forms are the spellings ParseInvitation accepts for inv.
func (inv *Invitation) forms() []string {
	forms := []string{inv.String(), inv.URI()}
	if inv.Server.Port == smp.DefaultPort {
		fp, _ := b64.RawURL(inv.Server.Fingerprint)
		forms = append(forms, strings.Join([]string{
			smp.EncodeDHKey(inv.EncryptionKey), smp.Encode(inv.SenderID), inv.Server.Host, smp.Encode(fp),
		}, " "))
	}
	return forms
}

func parseInvitationSpec(s string) (*Invitation, error) {
	f := strings.Split(s, " ")
	if len(f) != 4 {
		return nil, fmt.Errorf("invitation: %d fields; want encryptionKey senderConnId server serverKeyHash", len(f))
	}
	ek, err := parseDHKey(f[0])
	if err != nil {
		return nil, fmt.Errorf("invitation: encryptionKey: %w", err)
	}
	sid, err := smp.DecodeBase64(f[1])
	if err != nil || len(sid) == 0 {
		return nil, fmt.Errorf("invitation: senderConnId: not base64")
	}
	hash, err := smp.DecodeBase64(f[3])
	if err != nil || len(hash) != sha256.Size {
		return nil, fmt.Errorf("invitation: serverKeyHash: not the base64 of a SHA-256 hash")
	}
	host, port := f[2], strconv.Itoa(smp.DefaultPort)
	if h, p, err := net.SplitHostPort(f[2]); err == nil {
		host, port = h, p
	}
	addr, err := smp.ParseAddress("smp://" + base64.RawURLEncoding.EncodeToString(hash) + "@" + net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("invitation: server: %v", err)
	}
	if err := checkHost(addr.Host); err != nil {
		return nil, err
	}
	return &Invitation{EncryptionKey: ek, SenderID: sid, Server: addr}, nil
}

func parseInvitationURI(s string) (*Invitation, error) {
	u, err := url.Parse(s)
	if err != nil || u.Path != "/invitation" || u.User == nil || u.RawQuery != "" {
		return nil, fmt.Errorf("invitation: not an smp://fingerprint@host:port/invitation#ek=…&sid=… URI")
	}
	if _, ok := u.User.Password(); ok {
		// url.URL keeps it, smp.ParseAddress would drop it: refuse
		// rather than dial with less than what was given.
		return nil, errors.New("invitation: the URI has a password after the fingerprint (fingerprint:password@); an invitation has none")
	}
	addr, err := smp.ParseAddress("smp://" + u.User.String() + "@" + u.Host)
	if err != nil {
		return nil, fmt.Errorf("invitation: %v", err)
	}
	if err := checkHost(addr.Host); err != nil {
		return nil, err
	}
	ekText, sidText, err := invitationFragment(u.Fragment)
	if err != nil {
		return nil, err
	}
	spki, err1 := b64.RawURL(ekText)
	sid, err2 := b64.RawURL(sidText)
	if err1 != nil || err2 != nil || len(sid) == 0 {
		return nil, fmt.Errorf("invitation: the fragment must be ek=…&sid=… in unpadded base64url")
	}
	ek, err := parseDHKey(smp.Encode(spki))
	if err != nil {
		return nil, fmt.Errorf("invitation: ek: %w", err)
	}
	return &Invitation{EncryptionKey: ek, SenderID: sid, Server: addr}, nil
}

// invitationFragment splits "ek=…&sid=…": those two parameters, each
// once, in that order. url.ParseQuery would take a repeated one and keep
// the first, so two clients could read one invitation differently.
func invitationFragment(frag string) (ek, sid string, err error) {
	seen := map[string]bool{}
	var vals [2]string
	for i, p := range strings.Split(frag, "&") {
		k, v, _ := strings.Cut(p, "=")
		if seen[k] {
			return "", "", fmt.Errorf("invitation: fragment: %q given more than once", k)
		}
		seen[k] = true
		if i > 1 || k != [2]string{"ek", "sid"}[i] {
			return "", "", fmt.Errorf("invitation: fragment: %q; want ek=…&sid=…", k)
		}
		vals[i] = v
	}
	if len(seen) != 2 {
		return "", "", errors.New("invitation: fragment: want ek=…&sid=…")
	}
	return vals[0], vals[1], nil
}
