package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/progress"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

func logMigrateCmd() *cobra.Command {
	tf := trillianFlags{backend: "trillian"}
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "migrate --dir DIR --trillian ADDR --tree-id N [--db DSN]",
		Short: "Move an embedded log onto a Trillian tree, keeping every signed checkpoint",
		Long: `Move the embedded log in DIR onto a new, empty Trillian PREORDERED_LOG tree,
so that ssms log serve --backend trillian goes on from exactly where it
stopped: the same origin, key, entries, indexes, tiles and checkpoints.
Clients, witnesses and monitors see one log, one checkpoint after the other.

Stop the embedded server first (migrate takes DIR's lock), and start no front
end of the tree until migrate is done (it holds the tree's checkpointer lock).
It records every entry at its index in the database (--db, by default
$SSMS_DB), hands the entries to Trillian (--trillian, --tree-id), waits until
Trillian has integrated them, builds the tiles and entry bundles, checks that
the root of the entries is both Trillian's root and that of DIR's latest
checkpoint, and stores that checkpoint, as the log signed it and the witnesses
cosigned it, as the tree's first. It then writes DIR/served-checkpoint, so
that DIR can serve as the first front end's directory.

An interrupted migration is resumed by running the same command again; one
that completed prints the same result. DIR is left as it was: keep it, read
only, as a backup of the log up to that checkpoint. See docs/deploy.md.`,
		Example: `  SSMS_DB='ssms:secret@tcp(db.internal:3306)/trillian' \
      ssms log migrate --dir /var/lib/ssms-log --trillian trillian.internal:8090 --tree-id 5771968491331396226`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := tf.check(c); err != nil {
				return err
			}
			lock, key, err := ownLogKey(dir, "stop the embedded log server before migrating it")
			if err != nil {
				return err
			}
			defer lock.Release()
			src, err := translog.Open(dir)
			if err != nil {
				return err
			}
			defer src.Close()
			stderr := c.ErrOrStderr()
			report := migrateProgress(stderr)
			start := time.Now()
			cp, err := trillianlog.Import(c.Context(), tf.db, tf.addr, tf.treeID, key, src, report)
			if err != nil {
				return fmt.Errorf("tree %d at %s: %w", tf.treeID, tf.addr, err)
			}
			if err := atomicfile.Write(filepath.Join(dir, servedFile), cp.Raw, 0o644); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(struct {
					Origin string `json:"origin"`
					Size   int64  `json:"size"`
					TreeID int64  `json:"treeId"`
				}{cp.Origin, cp.Size, tf.treeID})
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %d entries on Trillian tree %d, checkpoint of size %d unchanged (%s)\n",
				cp.Origin, cp.Size, tf.treeID, cp.Size, progress.Elapsed(time.Since(start)))
			fmt.Fprintf(stderr, "ssms: hint: start the front ends: ssms log serve --backend trillian --trillian %s --tree-id %d --dir %s ...\n",
				tf.addr, tf.treeID, dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the embedded log's directory (required)")
	c.Flags().StringVar(&tf.addr, "trillian", "", "the Trillian log server's gRPC address (required)")
	c.Flags().Int64Var(&tf.treeID, "tree-id", 0, "the new, empty Trillian PREORDERED_LOG tree (required)")
	c.Flags().StringVar(&tf.db, "db", "", "the database DSN (default $SSMS_DB; user:password@tcp(host:port)/db)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("dir")
	return c
}

// migrateProgress shows, on a terminal, each stage of a migration and how
// far it got, at most ten times a second.
func migrateProgress(out io.Writer) trillianlog.ImportProgress {
	if !progress.IsTerminal(out) {
		return nil
	}
	start := time.Now()
	var last time.Time
	var lastStage string
	return func(stage string, done, total int64) {
		if stage == lastStage && done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		if stage != lastStage && lastStage != "" {
			fmt.Fprintln(out)
		}
		last, lastStage = time.Now(), stage
		fmt.Fprintf(out, "\rssms: [%s] %s %d/%d entries", progress.Elapsed(time.Since(start)), stage, done, total)
		if done == total && stage == "tiling" {
			fmt.Fprintln(out)
		}
	}
}
