package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/signer"
)

// flagValues are the flags whose values are one of a few words: the shell
// completes them, and nothing else.
var flagValues = map[string][]string{
	"algorithm": {string(signer.Ed25519), string(signer.ECDSAP256), string(signer.RSAPSS)},
	"type":      {manifest.TypeRelease, manifest.TypeRollback},
	"mode":      {"install", "installed"},
}

// fileExtensions are flags naming files of one kind; "" is any file.
var fileExtensions = map[string][]string{
	"key": {"key"}, "maintainer": {"pub"}, "rebuilder": {"pub"},
	"policy": {"json"}, "previous": {"json"}, "from": {"json"}, "to": {"json"}, "recipe": {"json"},
	"bundle": {"bundle"}, "first": {"proof"},
	"artifact": nil, "entry": nil, "out": nil, "since": nil, "state": nil, "go": nil,
}

// dirFlags are flags naming a directory.
var dirFlags = map[string]bool{"dir": true, "index": true, "modcache": true, "source": true}

// registerCompletions walks every command once, after they are all built,
// so that each flag completes the same way wherever it appears: words for
// the enumerated flags, files (by extension where the kind is known) or
// directories for the path flags, and nothing for the others (URLs,
// addresses, names, numbers), which a file name would only mislead.
func registerCompletions(c *cobra.Command) {
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if _, done := c.GetFlagCompletionFunc(f.Name); done || f.Value.Type() == "bool" {
			return
		}
		c.RegisterFlagCompletionFunc(f.Name, flagCompletion(f.Name))
	})
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}

func flagCompletion(name string) cobra.CompletionFunc {
	if words, ok := flagValues[name]; ok {
		return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
	}
	if dirFlags[name] {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
	}
	if exts, ok := fileExtensions[name]; ok {
		if len(exts) == 0 {
			return cobra.FixedCompletions(nil, cobra.ShellCompDirectiveDefault)
		}
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return exts, cobra.ShellCompDirectiveFilterFileExt
		}
	}
	return cobra.NoFileCompletions
}
