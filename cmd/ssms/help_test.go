package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryCommandHasExamples holds the README's promise that every
// command's --help shows examples, and that every flag taking a value
// completes in the shell.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Parent() != nil {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s has no Example", c.CommandPath())
			} else if !strings.Contains(c.Example, c.CommandPath()) && !strings.Contains(c.Example, "ssms "+c.Name()) {
				t.Errorf("%s: its Example does not run it: %q", c.CommandPath(), c.Example)
			}
			if c.Long == "" {
				t.Errorf("%s has no Long help", c.CommandPath())
			}
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if _, ok := c.GetFlagCompletionFunc(f.Name); !ok && f.Value.Type() != "bool" {
				t.Errorf("%s --%s has no completion", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
}

// TestFlagCompletion asks the completion machinery what the shell asks.
func TestFlagCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // lines of the answer, the directive last
	}{
		{[]string{"key", "generate", "--algorithm", ""}, []string{"ed25519", "ecdsa-p256", "rsa-pss", ":4"}},
		{[]string{"release", "draft", "--type", "r"}, []string{"release", "rollback", ":4"}},
		{[]string{"verify", "--mode", ""}, []string{"install", "installed", ":4"}},
		{[]string{"policy", "init", "--maintainer", ""}, []string{"pub", ":8"}},
		{[]string{"release", "sign", "x.json", "--key", ""}, []string{"key", ":8"}},
		{[]string{"log", "init", "--dir", ""}, []string{":16"}},
		{[]string{"release", "draft", "--artifact", ""}, []string{":0"}},
		{[]string{"log", "serve", "--addr", ""}, []string{":4"}},
	} {
		var out bytes.Buffer
		root := newRoot(&out, io.Discard)
		root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, tc.args...))
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.HasPrefix(l, "Completion ended") {
				got = append(got, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("completing %q: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
