package trillianlog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/trillian"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/logtest"
	"ssms.dev/ssms/translog/trillianlog"
)

// env returns the Trillian and database that scripts/trillian started, or
// skips the test.
func env(t testing.TB) (addr, dsn string) {
	addr, dsn = os.Getenv("TRILLIAN_ADDR"), os.Getenv("SSMS_DB")
	if addr == "" || dsn == "" {
		t.Skip(`TRILLIAN_ADDR or SSMS_DB is not set: start Trillian with eval "$(./scripts/trillian up /tmp/trillian)" (scripts/test does)`)
	}
	return addr, dsn
}

// newTree creates a tree: each test gets its own log.
func newTree(t testing.TB, addr string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := trillianlog.CreateTree(ctx, addr, "ssms-test")
	if err != nil {
		t.Fatal(err)
	}
	// Trillian's signer visits every live tree on each pass: those of
	// finished tests would slow down the next ones.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		trillianlog.DeleteTree(ctx, addr, id)
	})
	return id
}

// newLogTree creates a Trillian LOG tree (front ends refuse it; the
// benchmark of Trillian's own QueueLeaf uses it), deleted at the end.
func newLogTree(t testing.TB, addr string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tree, err := trillian.NewTrillianAdminClient(conn).CreateTree(ctx, &trillian.CreateTreeRequest{Tree: &trillian.Tree{
		TreeState: trillian.TreeState_ACTIVE, TreeType: trillian.TreeType_LOG, DisplayName: "ssms-test-log",
		MaxRootDuration: durationpb.New(0)}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := trillian.NewTrillianLogClient(conn).InitLog(ctx, &trillian.InitLogRequest{LogId: tree.TreeId})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		trillianlog.DeleteTree(ctx, addr, tree.TreeId)
	})
	return tree.TreeId
}

func newKey(t testing.TB) *translog.Key {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	if _, err := translog.Init(dir, "log.example/trillian"); err != nil {
		t.Fatal(err)
	}
	k, err := translog.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openFrontEnd opens a front end and closes it at the end of the test.
func openFrontEnd(t testing.TB, addr, dsn string, opts trillianlog.Options) *trillianlog.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if opts.Poll == 0 {
		opts.Poll = 5 * time.Millisecond
	}
	if opts.OnAlarm == nil {
		opts.OnAlarm = func(err error) { t.Errorf("alarm: %v", err) }
	}
	l, err := trillianlog.Open(ctx, dsn, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestSuite runs the API-level suite of the embedded store against a real
// Trillian and MariaDB: every front end of a log is a separate
// trillianlog.Log, each standing for checkpointer.
func TestSuite(t *testing.T) {
	addr, dsn := env(t)
	logtest.Run(t, func(t *testing.T, c logtest.Config) []translog.Backend {
		opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), Witness: c.Witness}
		var out []translog.Backend
		for range max(c.FrontEnds, 1) {
			out = append(out, openFrontEnd(t, addr, dsn, opts))
		}
		return out
	})
}
