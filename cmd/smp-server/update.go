package main

import (
	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/internal/updatecli"
)

// updateCmd is smp-server update: the newest verified release in this
// executable's place (package internal/updatecli).
func updateCmd(chk *startcheck.Options) *cobra.Command {
	c := updatecli.SelfCommand(chk)
	chk.AddPinFlags(c.Flags())
	c.Example += "\n  smp-server start --dir /var/lib/smp --auto-update 6h --mirror https://mirror.example/ssms   # and restart into it"
	return c
}
