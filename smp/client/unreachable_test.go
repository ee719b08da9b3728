package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

// closedAddress is an address on this machine where nothing listens.
func closedAddress(t *testing.T) smp.Address {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return smp.Address{Host: "127.0.0.1", Port: port, Fingerprint: strings.Repeat("A", 43)}
}

func TestSessionGivesUpOnARefusingServer(t *testing.T) {
	addr := closedAddress(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewSession(addr)
	var mu sync.Mutex
	var retries []time.Duration
	s.OnRetry = func(err error, in time.Duration) {
		mu.Lock()
		retries = append(retries, in)
		mu.Unlock()
	}
	go s.Run(ctx)
	start := time.Now()
	err := s.Do(ctx, func(*Conn) error { t.Fatal("connected to nothing"); return nil })
	took := time.Since(start)
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("got %v, want an *UnreachableError", err)
	}
	want := "cannot reach 127.0.0.1:" + strconv.Itoa(addr.Port) + ": connection refused"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if took > DefaultConnectWait+time.Second {
		t.Fatalf("gave up after %v, want about %v", took, DefaultConnectWait)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(retries) < 3 || retries[0] != 100*time.Millisecond || retries[1] != 200*time.Millisecond {
		t.Fatalf("retries told: %v, want the backoff from 100ms doubling", retries)
	}
}

// A server that accepts the connection and says nothing (a wrong port, a
// stuck proxy) costs one DialTimeout, not minutes.
func TestDialSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	addr := smp.Address{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Fingerprint: strings.Repeat("A", 43)}
	start := time.Now()
	_, err = Dial(context.Background(), addr)
	if took := time.Since(start); took > DialTimeout+time.Second {
		t.Fatalf("Dial took %v; the limit is %v", took, DialTimeout)
	}
	if err == nil || !strings.HasSuffix(err.Error(), ": no answer within 5s") {
		t.Fatalf("got %v, want no answer within 5s", err)
	}
}

func TestDialInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, closedAddress(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the caller's cancellation", err)
	}
}
