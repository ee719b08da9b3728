package main

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/monitor/explorer"
)

func monitorCmd() *cobra.Command {
	var logURL, vkey, policyPath, stateDir, metricsAddr, httpAddr string
	var once, asJSON bool
	var interval, grace time.Duration
	c := &cobra.Command{
		Use:   "monitor --log URL --policy policy.json --state DIR [--once]",
		Short: "Audit a log: verify every checkpoint and entry, alert on anything unexpected",
		Long: `Follow a log and verify, on each pass, its latest checkpoint (log signature,
witness quorum and freshness per the policy, consistency with the last one
verified) and every entry added since: a well-formed envelope, a release
signed by the policy's threshold for a product it covers, no two releases for
one version or one sequence number, sequence numbers going up by one, policy
rotations that follow the rule, rebuild attestations signed by the policy's
rebuilders that match their release, and every release reaching the policy's
rebuild threshold within --rebuild-grace of the monitor first seeing it (the
alert repeats on each pass until it does). Each finding is an alert line on stdout (a
JSON object with --json). A log that rewrote its history leaves an evidence
file in DIR/evidence (check it with ssms verify-evidence). One monitor owns
DIR at a time: another is refused (DIR is in use by process N).

With --once: one pass, exit 1 if there was any alert. Otherwise a pass every
--interval until interrupted. --metrics ADDR serves Prometheus counters.
--http ADDR serves the explorer while the monitor runs: web pages and JSON
(/api/) of what it verified (releases with signers and rebuilds, witnesses,
the policy chain, alerts with their evidence, a lookup of an artifact digest),
and POST /api/reports for updaters' failure reports, kept in DIR/reports.`,
		Example: `  ssms monitor --log http://127.0.0.1:8080 --policy policy.json --state mon --once
  ssms monitor --log http://127.0.0.1:8080 --policy policy.json --state mon --http 127.0.0.1:8090
  ssms monitor --log http://127.0.0.1:8080 --policy policy.json --state ssms-monitor --json --metrics 127.0.0.1:9100`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if grace <= 0 {
				return fmt.Errorf("--rebuild-grace %s: want a positive duration", grace)
			}
			pol, err := loadPolicy(policyPath)
			if err != nil {
				return err
			}
			client, err := logClient(pol, logURL, vkey)
			if err != nil {
				return err
			}
			lock, err := ownStateDir(stateDir)
			if err != nil {
				return err
			}
			defer lock.Release()
			m := &monitor.Monitor{Log: client, Pinned: pol, Dir: stateDir, RebuildGrace: grace}
			ex, err := serveExplorer(c, httpAddr, once, m)
			if err != nil {
				return err
			}
			reg := metrics.NewRegistry()
			if metricsAddr != "" {
				ln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					return err
				}
				go httpserver.Serve(c.Context(), httpserver.New(reg.Handler()), ln)
			}
			for {
				alerts, err := monitorPass(c, m, reg, asJSON)
				if err != nil {
					return err
				}
				if ex != nil {
					if err := ex.Refresh(); err != nil {
						return err
					}
				}
				if once {
					if alerts > 0 {
						return fmt.Errorf("%s", plural(alerts, "alert"))
					}
					return nil
				}
				select {
				case <-c.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	c.Flags().StringVar(&logURL, "log", "", "the log's URL (required)")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key (default: from the policy)")
	c.Flags().StringVar(&policyPath, "policy", "", "the trusted policy (required)")
	c.Flags().StringVar(&stateDir, "state", "", "directory for the monitor's state and evidence (required)")
	c.Flags().BoolVar(&once, "once", false, "one pass; exit 1 on any alert")
	c.Flags().DurationVar(&interval, "interval", time.Minute, "time between passes")
	c.Flags().DurationVar(&grace, "rebuild-grace", monitor.DefaultRebuildGrace, "how long a release may lack its rebuild threshold")
	c.Flags().BoolVar(&asJSON, "json", false, "alerts, and a status line per pass ({\"kind\":\"pass\",…}), as JSON lines")
	c.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on this address")
	c.Flags().StringVar(&httpAddr, "http", "", "serve the explorer (pages, /api/) on this address")
	for _, f := range []string{"log", "policy", "state"} {
		c.MarkFlagRequired(f)
	}
	return c
}

func monitorPass(c *cobra.Command, m *monitor.Monitor, reg *metrics.Registry, asJSON bool) (int, error) {
	pass, err := m.Run(c.Context())
	if err != nil {
		reg.Counter("ssms_monitor_errors_total", "Passes that failed before checking.").Add(1)
		return 0, err
	}
	out := c.OutOrStdout()
	for _, f := range pass.Findings {
		reg.Counter("ssms_monitor_alerts_total", "Alerts by kind.", "kind", f.Kind).Add(1)
		if asJSON {
			fmt.Fprintln(out, f.JSON())
		} else {
			fmt.Fprintf(out, "ssms: alert: %s\n", f)
		}
	}
	reg.Counter("ssms_monitor_entries_total", "Entries checked.").Add(float64(pass.To - pass.From))
	reg.Gauge("ssms_monitor_tree_size", "Size of the last verified checkpoint.").Set(float64(pass.To))
	if asJSON {
		// One status line per pass, so a script sees the monitor alive.
		b, _ := json.Marshal(map[string]any{"kind": "pass", "from": pass.From, "to": pass.To, "releases": pass.Releases, "alerts": len(pass.Findings)})
		fmt.Fprintf(out, "%s\n", b)
	} else {
		fmt.Fprintf(c.ErrOrStderr(), "ssms: monitor: entries %d to %d checked (%s), %s\n", pass.From, pass.To, plural(pass.Releases, "release"), plural(len(pass.Findings), "alert"))
	}
	return len(pass.Findings), nil
}

// serveExplorer starts the explorer on addr, if one is asked for.
func serveExplorer(c *cobra.Command, addr string, once bool, m *monitor.Monitor) (*explorer.Explorer, error) {
	if addr == "" {
		return nil, nil
	}
	if once {
		return nil, fmt.Errorf("--http serves while the monitor runs; it does not go with --once")
	}
	ex, err := explorer.New(explorer.Config{Dir: m.Dir, Pinned: m.Pinned, VKey: m.Log.VKey})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.ErrOrStderr(), "ssms: monitor: explorer at http://%s/\n", ln.Addr())
	go httpserver.Serve(c.Context(), httpserver.New(ex.Handler()), ln)
	return ex, nil
}
