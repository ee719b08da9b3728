package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/smp/agent"
)

func forgetCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "forget NAME",
		Short: "Remove a contact: its keys, its queue on the server, its place in the state",
		Long: `Remove the contact NAME from the state, with every key of the conversation,
after deleting its receive queue on the server (so the server keeps nothing
for it). Use it for a conversation you no longer want, or a handshake that
will never finish. Nothing they send can be read after this; to talk again,
one of you invites the other anew. If the server cannot be reached the
contact is forgotten all the same, and the queue stays on the server until
it expires.`,
		Example: `  smp-client forget bob`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return o.withAgent(func(ctx context.Context, a *agent.Agent) error {
				serverErr, err := a.Forget(ctx, args[0])
				if err != nil {
					return err
				}
				if serverErr != nil {
					fmt.Fprintf(c.ErrOrStderr(), "smp-client: warning: the queue of %s was not deleted on its server: %v\n", args[0], serverErr)
				}
				fmt.Fprintf(c.OutOrStdout(), "forgot %s\n", args[0])
				return nil
			})
		},
	}
}
