package agent

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp/client"
	"ssms.dev/ssms/smp/server/servertest"
)

// BenchmarkRoundTrip is one message from alice to bob through a real
// server over TLS on loopback, end-to-end encrypted, until bob's agent
// shows it. "bare" is the same trip for a bare SMP queue (no end-to-end
// layer, no padding), the floor this client adds to.
func BenchmarkRoundTrip(b *testing.B) {
	addr := servertest.Start(b)
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		recv, err := client.Dial(ctx, addr)
		if err != nil {
			b.Fatal(err)
		}
		send, err := client.Dial(ctx, addr)
		if err != nil {
			b.Fatal(err)
		}
		priv, _ := signer.Generate(signer.Ed25519)
		rk, _ := signer.NewKeySigner(priv)
		q, err := recv.CreateQueue(ctx, rk)
		if err != nil {
			b.Fatal(err)
		}
		body := []byte("ping")
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if err := send.Send(ctx, q.SenderID, nil, body); err != nil {
				b.Fatal(err)
			}
			<-recv.Deliveries()
			lat = append(lat, time.Since(t0))
			if err := recv.Ack(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		report(b, lat)
	})
	b.Run("conversation", func(b *testing.B) {
		dir := b.TempDir()
		alice, bob := newAgent(b, filepath.Join(dir, "alice")), newAgent(b, filepath.Join(dir, "bob"))
		connect(b, alice, bob, addr)
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if err := alice.Send(ctx, "bob", "ping"); err != nil {
				b.Fatal(err)
			}
			for e := range bob.Events() {
				if e.Kind == EventMessage {
					break
				}
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
}

// BenchmarkConversationThroughput sends messages one after another from
// alice to bob and counts what bob's agent shows per second. At most
// inFlight are sent and not yet shown: bob saves his state before each
// ACK, and a sender that never waits fills the queue's quota (ERR SIZE).
func BenchmarkConversationThroughput(b *testing.B) {
	addr := servertest.Start(b)
	ctx := context.Background()
	dir := b.TempDir()
	alice, bob := newAgent(b, filepath.Join(dir, "alice")), newAgent(b, filepath.Join(dir, "bob"))
	connect(b, alice, bob, addr)
	const n, inFlight = 1000, 32
	for b.Loop() {
		t0 := time.Now()
		done := make(chan int)
		window := make(chan struct{}, inFlight)
		go func() {
			got := 0
			for e := range bob.Events() {
				if e.Kind == EventMessage {
					<-window
					if got++; got == n {
						break
					}
				} else {
					b.Errorf("notice %+v", e)
				}
			}
			done <- got
		}()
		for range n {
			window <- struct{}{}
			if err := alice.Send(ctx, "bob", "a message of a typical length for a chat"); err != nil {
				b.Fatal(err)
			}
		}
		<-done
		b.ReportMetric(n/time.Since(t0).Seconds(), "msgs/s")
	}
}

// BenchmarkStoreSave is one save of a state with one contact: what each
// received message costs now that the receive side is saved before its
// ACK (seal, write a temporary file, fsync, rename, fsync the directory).
func BenchmarkStoreSave(b *testing.B) {
	addr := servertest.Start(b)
	dir := b.TempDir()
	alice, bob := newAgent(b, filepath.Join(dir, "alice")), newAgent(b, filepath.Join(dir, "bob"))
	connect(b, alice, bob, addr)
	for b.Loop() {
		if err := bob.store.Save(bob.State()); err != nil {
			b.Fatal(err)
		}
	}
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
