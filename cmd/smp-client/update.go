package main

import (
	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/internal/updatecli"
)

// updateCmd is smp-client update: the newest verified release in this
// executable's place (package internal/updatecli). --policy and
// --install-state are the root's.
func updateCmd(chk *startcheck.Options) *cobra.Command { return updatecli.SelfCommand(chk) }
