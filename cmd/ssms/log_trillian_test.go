package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/translog/trillianlog"
)

// TestTrillianScripts runs testdata/trillian/*.txtar: ssms log serve
// --backend trillian against the Trillian and MariaDB that scripts/trillian
// started (scripts/test does), each script on a tree of its own.
func TestTrillianScripts(t *testing.T) {
	addr, db := os.Getenv("TRILLIAN_ADDR"), os.Getenv("SSMS_DB")
	if addr == "" || db == "" {
		t.Skip(`TRILLIAN_ADDR or SSMS_DB is not set: start Trillian with eval "$(./scripts/trillian up /tmp/trillian)" (scripts/test does)`)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/trillian",
		Setup: func(e *testscript.Env) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tree, err := trillianlog.CreateTree(ctx, addr, "ssms-script")
			if err != nil {
				return err
			}
			e.Defer(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				trillianlog.DeleteTree(ctx, addr, tree)
			})
			e.Setenv("TRILLIAN_ADDR", addr)
			e.Setenv("SSMS_DB", db)
			e.Setenv("TREE", strconv.FormatInt(tree, 10))
			e.Setenv("SSMS_PASSWORD", "quiet-test-passphrase")
			for _, name := range []string{"FE1", "FE2"} {
				a, err := freeAddr()
				if err != nil {
					return err
				}
				e.Setenv(name, a)
			}
			return nil
		},
		Cmds: commands(),
	})
}
