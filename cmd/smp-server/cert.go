package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server"
)

// now is the clock of the certificate checks; the tests move it.
var now = time.Now

// renewAhead is how long before the online certificate expires start
// (and a running server, daily) warns: time to fetch the CA key from
// offline storage.
const renewAhead = 30 * 24 * time.Hour

func certCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cert",
		Short: "The server's online certificate: when it expires, and renewing it",
		Long: `The server has two certificates: its CA (ca.crt, valid 20 years, whose
fingerprint is in the address clients use, with a key, ca.key, that belongs
offline) and the online certificate it serves (server.crt and server.key,
valid one year, signed by the CA). Clients refuse an expired online
certificate, so renew it before then: "smp-server start" warns from a month
before, and refuses to start once it has expired.`,
	}
	c.AddCommand(certRenewCmd("renew"), certShowCmd())
	return c
}

// renewAliasCmd is "smp-server renew", the name cert renew had first.
func renewAliasCmd() *cobra.Command {
	c := certRenewCmd("renew")
	c.Hidden = true
	c.Short += " (the same as cert renew)"
	return c
}

func certRenewCmd(name string) *cobra.Command {
	var dir, caKey string
	c := &cobra.Command{
		Use:   name + " --dir DIR [--ca-key FILE]",
		Short: "Make a new online certificate (one year) with the CA key from offline storage",
		Long: `Make a new online certificate and key, valid for one year and signed by the
CA, whose key must be back from offline storage for this: in DIR/ca.key, or
named by --ca-key (a removable disk, say). The address does not change.
Restart the server to serve the new certificate; then put the CA key away
again.`,
		Example: `  smp-server cert renew --dir /var/lib/smp --ca-key /media/offline/ca.key
  systemctl restart smp-server`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := server.RenewWithCA(dir, caKey); err != nil {
				return err
			}
			cfg, _, err := server.LoadTLS(dir)
			if err != nil {
				return err
			}
			leaf, err := onlineLeaf(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "new online certificate, valid until %s\n", leaf.NotAfter.UTC().Format(time.DateOnly))
			key := caKey
			if key == "" {
				key = filepath.Join(dir, "ca.key")
			}
			fmt.Fprintf(c.ErrOrStderr(), "smp-server: hint: restart the server, and move %s to offline storage again\n", key)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the server's directory (required)")
	c.Flags().StringVar(&caKey, "ca-key", "", "the CA key (default: DIR/ca.key)")
	c.MarkFlagRequired("dir")
	return c
}

func certShowCmd() *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:     "show --dir DIR",
		Short:   "Print the address, when the online certificate expires, and whether the CA key is still here",
		Example: `  smp-server cert show --dir /var/lib/smp`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, addr, err := server.LoadTLS(dir)
			if err != nil {
				return err
			}
			leaf, err := onlineLeaf(cfg)
			if err != nil {
				return err
			}
			_, statErr := os.Stat(filepath.Join(dir, "ca.key"))
			caKeyHere := statErr == nil
			if asJSON {
				b, _ := json.MarshalIndent(map[string]any{
					"address": addr.String(), "notAfter": leaf.NotAfter.UTC().Format(time.RFC3339),
					"expired": !now().Before(leaf.NotAfter), "caKeyPresent": caKeyHere,
				}, "", "  ")
				fmt.Fprintln(c.OutOrStdout(), string(b))
				return nil
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "address: %s\nonline certificate: valid until %s (%s)\n", addr, leaf.NotAfter.UTC().Format(time.DateOnly), untilExpiry(leaf))
			if caKeyHere {
				fmt.Fprintf(out, "CA key: %s is here; it belongs in offline storage\n", filepath.Join(dir, "ca.key"))
			} else {
				fmt.Fprintln(out, "CA key: not here (offline)")
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the server's directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	c.MarkFlagRequired("dir")
	return c
}

// onlineLeaf is the online certificate cfg serves.
func onlineLeaf(cfg *tls.Config) (*x509.Certificate, error) {
	if len(cfg.Certificates) == 0 || len(cfg.Certificates[0].Certificate) == 0 {
		return nil, errors.New("no online certificate")
	}
	if leaf := cfg.Certificates[0].Leaf; leaf != nil {
		return leaf, nil
	}
	return x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
}

func untilExpiry(leaf *x509.Certificate) string {
	left := leaf.NotAfter.Sub(now())
	if left <= 0 {
		return "expired"
	}
	return fmt.Sprintf("%d days left", int(left.Hours()/24))
}

// checkCertificate refuses an expired online certificate (clients refuse
// it: the server would accept connections and fail every one) and warns
// when it expires within renewAhead.
func checkCertificate(w io.Writer, cfg *tls.Config, dir string) error {
	leaf, err := onlineLeaf(cfg)
	if err != nil {
		return err
	}
	if !now().Before(leaf.NotAfter) {
		return fmt.Errorf("%s: the online certificate expired on %s, and clients refuse it; renew it with the CA key (smp-server cert renew --dir %s --ca-key FILE), then start again",
			filepath.Join(dir, "server.crt"), leaf.NotAfter.UTC().Format(time.DateOnly), dir)
	}
	warnExpiry(w, leaf, dir)
	return nil
}

func warnExpiry(w io.Writer, leaf *x509.Certificate, dir string) {
	if left := leaf.NotAfter.Sub(now()); left <= 0 {
		fmt.Fprintf(w, "smp-server: warning: the online certificate expired on %s: clients refuse it until it is renewed (smp-server cert renew --dir %s) and the server restarted\n", leaf.NotAfter.UTC().Format(time.DateOnly), dir)
	} else if left < renewAhead {
		fmt.Fprintf(w, "smp-server: warning: the online certificate expires on %s (%s): renew it with the CA key (smp-server cert renew --dir %s), then restart\n", leaf.NotAfter.UTC().Format(time.DateOnly), untilExpiry(leaf), dir)
	}
}

// watchCertificate repeats the expiry warning daily while the server
// runs: a server started long before its certificate expires would
// otherwise say nothing before clients start failing.
func watchCertificate(ctx context.Context, w io.Writer, cfg *tls.Config, dir string) {
	leaf, err := onlineLeaf(cfg)
	if err != nil {
		return
	}
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			warnExpiry(w, leaf, dir)
		}
	}
}

// warnPort warns when the server listens on another port than the one in
// its address: clients dial the address's port, and reach this server
// only if something forwards that port here.
func warnPort(w io.Writer, address smp.Address, listening net.Addr) {
	tcp, ok := listening.(*net.TCPAddr)
	if !ok || tcp.Port == address.Port {
		return
	}
	fmt.Fprintf(w, "smp-server: warning: listening on port %d, but the address clients use says port %d: they reach this server only if port %d is forwarded here (or start with --addr :%d)\n", tcp.Port, address.Port, address.Port, address.Port)
}
