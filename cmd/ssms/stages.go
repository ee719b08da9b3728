package main

import (
	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/progress"
)

// newStages makes the stage lines of a long command: on standard error,
// only when it is a terminal. Tests of what a terminal shows replace it
// with progress.ForcedStages.
var newStages = progress.NewStages

// stagesFor is the stage lines of command c, or nil (print nothing) when
// its output is JSON for a script.
func stagesFor(c *cobra.Command, asJSON bool) *progress.Stages {
	if asJSON {
		return nil
	}
	return newStages(c.ErrOrStderr(), "ssms: "+c.Name()+": ")
}
