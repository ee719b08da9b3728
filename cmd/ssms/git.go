package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

func runGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %s", args[0], dir, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}
