package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// The specification asks that ERR AUTH take the same time whether or not
// the queue exists. Before, a 512-byte signature on SUB cost 92 µs for an
// existing Ed25519 queue and 414 µs for an unknown one (the real key
// refused the length at once, the dummy did RSA-4096), and a signed SEND
// to a queue without a sender key skipped verification. Two tests hold
// the property: one counts the verifications each refusal does, one
// measures the time.

// authCase is a refused transmission: on a queue that exists (known) and
// the same with an ID no queue has.
type authCase struct {
	name           string
	known, unknown *smp.Transmission
}

// authFixture is a server with queues of each key type and, for SEND, a
// queue not secured yet. Its client's answers are dropped.
type authFixture struct {
	s *Server
	c *client
	// queues by the kind of key that guards them
	ed, rsa, open *queue
}

func newAuthFixture(tb testing.TB) *authFixture {
	tb.Helper()
	f := &authFixture{s: New(Config{})}
	f.c = newClient(f.s)
	f.c.out.close()
	mk := func(rkey, skey *smp.PublicKey) *queue {
		f.s.create(f.c, smp.Conn{RecipientKey: rkey})
		for _, q := range f.s.byRID {
			if q.rkey == rkey {
				q.skey = skey
				return q
			}
		}
		tb.Fatal("queue not created")
		return nil
	}
	edKey := func() *smp.PublicKey {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		return smpKey(tb, priv)
	}
	rsaKey := rsaTestKey(tb)
	f.ed = mk(edKey(), edKey())
	f.rsa = mk(rsaKey, rsaKey)
	f.open = mk(edKey(), nil)
	return f
}

func rsaTestKey(tb testing.TB) *smp.PublicKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	sk, _ := signer.NewPublicKey(&priv.PublicKey)
	k, err := smp.NewKey(sk)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// sigLengths are those of every accepted key type and size, and one no
// key makes.
var sigLengths = []int{64, 256, 384, 512, 100}

// badSig is a signature of n bytes that verifies under no key but costs a
// full verification: for Ed25519, a real signature of another message
// (its S is in range, so the check does not stop early).
func badSig(n int) []byte {
	if n == ed25519.SignatureSize {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		return ed25519.Sign(priv, []byte("another message"))
	}
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// cases are the refused transmissions, for each command and signature
// length: recipient commands on the Ed25519 and RSA queues, SEND to the
// Ed25519- and RSA-secured queues and to the queue without a sender key.
func (f *authFixture) cases(tb testing.TB) []authCase {
	var out []authCase
	unknown := newID()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key := smpKey(tb, priv)
	cmds := []smp.Command{smp.Sub{}, smp.Key{SenderKey: key}, smp.Ack{}, smp.Hold{}, smp.Del{}}
	for _, n := range sigLengths {
		sig := badSig(n)
		tx := func(id []byte, c smp.Command) *smp.Transmission {
			t := mustRead(tb, smp.AppendClientTransmission(nil, id, c, func([]byte) []byte { return sig }))
			return t
		}
		for _, c := range cmds {
			for qn, q := range map[string]*queue{"ed25519": f.ed, "rsa2048": f.rsa} {
				out = append(out, authCase{fmt.Sprintf("%T/sig%d/%s", c, n, qn), tx(q.rid[:], c), tx(unknown[:], c)})
			}
		}
		send := smp.Send{Body: make([]byte, 256), Binary: true}
		for qn, q := range map[string]*queue{"ed25519": f.ed, "rsa2048": f.rsa, "unsecured": f.open} {
			out = append(out, authCase{fmt.Sprintf("Send/sig%d/%s", n, qn), tx(q.sid[:], send), tx(unknown[:], send)})
		}
	}
	return out
}

func mustRead(tb testing.TB, b []byte) *smp.Transmission {
	tx, err := smp.NewReader(bytes.NewReader(b)).Read()
	if err != nil || tx.Err != "" {
		tb.Fatalf("%q: %v %v", b, err, tx.Err)
	}
	return tx
}

// TestAuthVerificationsPerPath is the structural half: every refused
// signed transmission, known queue or not, costs exactly one call of
// smp.Verify with its signature (whose work depends only on the
// signature's length: smp's TestVerifyWorkByLength), and an unsigned SEND
// costs none on every path.
func TestAuthVerificationsPerPath(t *testing.T) {
	f := newAuthFixture(t)
	var calls [][]byte
	f.s.verify = func(k *smp.PublicKey, signed, sig []byte) bool {
		calls = append(calls, sig)
		return smp.Verify(k, signed, sig)
	}
	check := func(name string, tx *smp.Transmission, want int) {
		t.Helper()
		calls = nil
		if got := f.s.runOnce(f.c, tx); got != (smp.Err{Type: smp.ErrAuth}) {
			t.Errorf("%s: answered %v, want ERR AUTH", name, got)
		}
		if len(calls) != want || (want == 1 && string(calls[0]) != string(tx.Signature)) {
			t.Errorf("%s: %d verifications, want %d of its signature", name, len(calls), want)
		}
	}
	for _, c := range f.cases(t) {
		check(c.name+"/known", c.known, 1)
		check(c.name+"/unknown", c.unknown, 1)
	}
	wrongParty := mustRead(t, smp.AppendClientTransmission(nil, f.ed.sid[:], smp.Sub{}, func([]byte) []byte { return badSig(64) }))
	check("Sub with a sender ID", wrongParty, 1)
	shortID := mustRead(t, smp.AppendClientTransmission(nil, f.ed.rid[:15], smp.Sub{}, func([]byte) []byte { return badSig(64) }))
	check("Sub with a 15-byte ID", shortID, 1)
	sendToRID := mustRead(t, smp.AppendClientTransmission(nil, f.ed.rid[:], smp.Send{Body: []byte("x")}, func([]byte) []byte { return badSig(64) }))
	check("Send with a recipient ID", sendToRID, 1)
	unknown := newID()
	for name, id := range map[string][]byte{"secured": f.ed.sid[:], "unknown": unknown[:]} {
		unsigned := mustRead(t, smp.AppendClientTransmission(nil, id, smp.Send{Body: []byte("x")}, nil))
		check("unsigned Send/"+name, unsigned, 0)
	}
}

// runOnce handles tx and returns the answer it posted (the client's
// outbox is reopened for it).
func (s *Server) runOnce(c *client, tx *smp.Transmission) smp.Command {
	c.out = newOutbox()
	s.handle(c, tx)
	c.out.mu.Lock()
	pending := c.out.pending
	c.out.mu.Unlock()
	c.out.close()
	r := smp.NewReader(bytes.NewReader(pending))
	st, err := r.ReadServer()
	if _, more := r.ReadServer(); err != nil || more == nil {
		return nil
	}
	return st.Command
}

// TestAuthTiming measures it: for each command, signature length and key
// type, ERR AUTH on a known queue and on an unknown one take the same time
// to within 5 %: the median of the paired differences (known minus
// unknown, measured back to back) is under 5 % of the median time. Pairs
// alternate which goes first and a difference is taken within a pair, so
// that load from other processes (CI runs packages in parallel on two
// cores) falls on both sides; a case that fails is measured again, up to
// four times, before the test fails. Costs below a microsecond (signature
// lengths no key makes: no verification at all) are held to 5 % or 100 ns,
// the grain of the clock and the scheduler.
func TestAuthTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("measures time")
	}
	f := newAuthFixture(t)
	for _, c := range f.cases(t) {
		var known, unknown, diff time.Duration
		ok := false
		for try := 0; try < 5 && !ok; try++ {
			known, unknown, diff = f.medians(c)
			d := diff
			if d < 0 {
				d = -d
			}
			ok = d*20 < min(known, unknown) || d < 100*time.Nanosecond
		}
		if !ok {
			t.Errorf("%s: median %v on a known queue, %v on an unknown one, paired difference %v", c.name, known, unknown, diff)
		}
		t.Logf("%-28s known %9v unknown %9v difference %9v", c.name, known, unknown, diff)
	}
}

// medians times c's two transmissions, alternating, and returns the median
// of each and the median of the paired differences known - unknown.
func (f *authFixture) medians(c authCase) (known, unknown, diff time.Duration) {
	reps, batch := 101, 1
	switch len(c.known.Signature) {
	case 64:
		batch = 4
	case 256, 384, 512:
	default:
		batch = 32
	}
	time1 := func(tx *smp.Transmission) time.Duration {
		start := time.Now()
		for range batch {
			f.s.handle(f.c, tx)
		}
		return time.Since(start) / time.Duration(batch)
	}
	ks, us, ds := make([]time.Duration, reps), make([]time.Duration, reps), make([]time.Duration, reps)
	for i := range reps {
		if i%2 == 0 {
			ks[i], us[i] = time1(c.known), time1(c.unknown)
		} else {
			us[i], ks[i] = time1(c.unknown), time1(c.known)
		}
		ds[i] = ks[i] - us[i]
	}
	slices.Sort(ks)
	slices.Sort(us)
	slices.Sort(ds)
	return ks[reps/2], us[reps/2], ds[reps/2]
}
