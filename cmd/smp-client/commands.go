package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/agent"
)

func inviteCmd(o *options) *cobra.Command {
	var server string
	var qr bool
	c := &cobra.Command{
		Use:   "invite NAME --server smp://FINGERPRINT@HOST[:PORT]",
		Short: "Create a queue for a new contact and print the invitation to give them",
		Long: `Create a queue on the server for the contact you will call NAME, and print the
invitation (the spec's text form, an smp:// URI, and, on a terminal, a QR
code). Give it to them over a channel you both trust: in person, or a call
where you recognise each other. Whoever has it can send you one first message,
so do not post it in public. Then run "smp-client listen" (or chat) to finish
the handshake when they join.`,
		Example: `  smp-client invite bob --server smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@smp.example.org`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			addr, err := smp.ParseAddress(server)
			if err != nil {
				return withHint(err, "the server's address is what smp-server init printed")
			}
			return o.withNewState().withAgent(func(ctx context.Context, a *agent.Agent) error {
				inv, err := a.Invite(ctx, args[0], addr)
				if err != nil {
					return err
				}
				out := c.OutOrStdout()
				fmt.Fprintf(out, "invitation for %s:\n%s\n%s\n", args[0], inv.String(), inv.URI())
				if qr || isTerminal(out) {
					code, err := renderQR(inv.URI())
					if err != nil {
						return err
					}
					fmt.Fprint(out, code)
				}
				fmt.Fprintf(c.ErrOrStderr(), "smp-client: hint: give it to %s out of band; then run smp-client listen\n", args[0])
				return nil
			})
		},
	}
	c.Flags().StringVar(&server, "server", "", "the server for the queue (required)")
	c.Flags().BoolVar(&qr, "qr", false, "print the QR code even when stdout is not a terminal")
	c.MarkFlagRequired("server")
	return c
}

func joinCmd(o *options) *cobra.Command {
	var server string
	c := &cobra.Command{
		Use:   "join NAME INVITATION",
		Short: "Accept an invitation from the contact you will call NAME",
		Long: `Accept an invitation (either form; quote the text form, it has spaces): make
fresh keys, create a queue for the answers (on --server, by default the
inviter's server), and send the confirmation, encrypted to the inviter. The
conversation is ready once they have answered: run "smp-client listen" or chat.
The inviter's client answers on a server other than its own only if they
allow it (--allow-server), so tell them when you choose one.`,
		Example: `  smp-client join alice 'smp://47DEQ…@smp.example.org:5223/invitation#ek=…&sid=…'`,
		Args:    cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			inv, err := agent.ParseInvitation(strings.TrimSpace(args[1])) // pasted: white space around it is not part of it
			if err != nil {
				return err
			}
			reply := inv.Server
			if server != "" {
				if reply, err = smp.ParseAddress(server); err != nil {
					return err
				}
			}
			return o.withNewState().withAgent(func(ctx context.Context, a *agent.Agent) error {
				if err := a.Join(ctx, args[0], inv, reply); err != nil {
					if errors.Is(err, agent.ErrJoinUndone) {
						return withHint(err, "join again with the same invitation once the server can be reached")
					}
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "joined: confirmation sent to %s; waiting for their answer (smp-client listen)\n", args[0])
				return nil
			})
		},
	}
	c.Flags().StringVar(&server, "server", "", "the server for your queue (default: the inviter's)")
	return c
}

func listenCmd(o *options) *cobra.Command {
	var duration time.Duration
	var until string
	var asJSON bool
	c := &cobra.Command{
		Use:   "listen",
		Short: "Receive: finish handshakes, print messages and notices",
		Long: `Subscribe to every contact's queue, finish handshakes, and print each message
as "TIME NAME: TEXT". Notices (a message delivered twice, missing, out of
order, or not from the contact) go to stderr. Runs until interrupted, for
--for D, or --until-connected NAME.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return o.withAgent(func(ctx context.Context, a *agent.Agent) error {
				if duration > 0 {
					var stop context.CancelFunc
					ctx, stop = context.WithTimeout(ctx, duration)
					defer stop()
				}
				if until != "" && a.State().Contacts[until] == nil {
					return fmt.Errorf("no contact named %s", until)
				}
				if until != "" && a.State().Contacts[until].Status == agent.StatusConnected {
					fmt.Fprintf(c.ErrOrStderr(), "* connected with %s already\n", until)
					return nil
				}
				if until != "" {
					fmt.Fprintf(c.ErrOrStderr(), "smp-client: waiting until connected with %s: %s\n", until, waitingFor(a.State().Contacts[until].Status, until))
				}
				if err := a.Listen(ctx); err != nil {
					return err
				}
				for {
					select {
					case e := <-a.Events():
						printEvent(c.OutOrStdout(), c.ErrOrStderr(), e, asJSON)
						if e.Kind == agent.EventConnected && e.Contact == until {
							return nil
						}
					case <-ctx.Done():
						if until != "" {
							return fmt.Errorf("not connected to %s yet", until)
						}
						return nil
					}
				}
			})
		},
	}
	c.Flags().DurationVar(&duration, "for", 0, "stop after this long")
	c.Flags().StringVar(&until, "until-connected", "", "stop once connected to this contact")
	c.Flags().BoolVar(&asJSON, "json", false, "events as JSON lines")
	return c
}

// waitingFor says what listen --until-connected waits for, given where
// the handshake with name stands.
func waitingFor(status, name string) string {
	switch status {
	case agent.StatusInvited:
		return name + " has not joined yet (they run smp-client join with your invitation); Ctrl-C to stop"
	case agent.StatusAccepted:
		return name + " joined; their last step of the handshake has not come yet (they run smp-client listen or chat); Ctrl-C to stop"
	case agent.StatusJoining:
		return name + " has not answered your confirmation yet (they run smp-client listen or chat); Ctrl-C to stop"
	}
	return "the handshake with " + name + " is under way (status " + status + "); Ctrl-C to stop"
}

func sendCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "send NAME [--] TEXT...",
		Short: "Send one message to a connected contact",
		Long: `Send one message, the words of TEXT joined by spaces, to NAME. Text that
starts with "-" goes after "--", or it is read as a flag.`,
		Example: `  smp-client send bob see you at 6
  smp-client send bob -- -1 from me, the vote stays open`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return o.withAgent(func(ctx context.Context, a *agent.Agent) error {
				err := a.Send(ctx, args[0], strings.Join(args[1:], " "))
				if errors.Is(err, agent.ErrNotConnected) {
					return withHint(err, "the handshake finishes while both sides run smp-client listen or chat")
				}
				return err
			})
		},
	}
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withHint(err, `text that starts with "-" goes after "--": smp-client send NAME -- -TEXT`)
	})
	return c
}

func chatCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "chat NAME",
		Short: "Talk with a contact: lines you type are sent, theirs are shown",
		Long: `An interactive conversation: every line you type is sent to NAME, and what
they send is shown as it arrives, with notices about anything the server did
to the order of messages. /quit or end of input leaves.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			return o.withAgent(func(ctx context.Context, a *agent.Agent) error {
				contact := a.State().Contacts[name]
				if contact == nil {
					return fmt.Errorf("no contact named %s", name)
				}
				if err := a.Listen(ctx); err != nil {
					return err
				}
				out := c.OutOrStdout()
				fmt.Fprintf(out, "chat with %s (%s); /quit to leave\n", name, contact.Status)
				lines := make(chan string)
				go func() {
					defer close(lines)
					sc := bufio.NewScanner(o.in)
					for sc.Scan() {
						lines <- sc.Text()
					}
				}()
				for {
					select {
					case e := <-a.Events():
						printEvent(out, out, e, false)
					case line, ok := <-lines:
						if !ok || line == "/quit" {
							return nil
						}
						if strings.TrimSpace(line) == "" {
							continue
						}
						if err := a.Send(ctx, name, line); err != nil {
							fmt.Fprintf(out, "! not sent: %v\n", err)
						}
					case <-ctx.Done():
						return nil
					}
				}
			})
		},
	}
}

func contactsCmd(o *options) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "contacts",
		Short: "List contacts and where each handshake stands",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return o.withAgent(func(ctx context.Context, a *agent.Agent) error {
				st := a.State()
				for _, n := range st.Names() {
					if asJSON {
						b, _ := json.Marshal(map[string]string{"name": n, "status": st.Contacts[n].Status})
						fmt.Fprintln(c.OutOrStdout(), string(b))
						continue
					}
					fmt.Fprintf(c.OutOrStdout(), "%s\t%s\n", n, st.Contacts[n].Status)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per contact")
	return c
}

// printEvent shows a message on out, anything else on notes.
func printEvent(out, notes io.Writer, e agent.Event, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(e)
		fmt.Fprintln(out, string(b))
		return
	}
	switch e.Kind {
	case agent.EventMessage:
		fmt.Fprintf(out, "%s %s: %s\n", e.Time.UTC().Format(time.RFC3339), e.Contact, e.Text)
	case agent.EventConnected:
		fmt.Fprintf(notes, "* connected with %s\n", e.Contact)
	case agent.NoticeReplyServer:
		fmt.Fprintf(notes, "! %s: %s: %s\n", e.Contact, e.Kind, e.Text)
		fmt.Fprintf(notes, "smp-client: hint: if you expect %s there, listen again with --allow-server and that address, and ask them to run smp-client listen again: their confirmation was removed and their client sends it again\n", e.Contact)
	default:
		fmt.Fprintf(notes, "! %s: %s: %s\n", e.Contact, e.Kind, e.Text)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
