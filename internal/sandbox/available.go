package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

var (
	availableOnce sync.Once
	availableErr  error
)

// Available reports whether the sandbox works here, by running a command
// in it once: bwrap can be installed and still fail (a container without
// user namespaces, or a kernel that refuses them).
func Available() error {
	availableOnce.Do(func() { availableErr = try() })
	return availableErr
}

func try() error {
	var out bytes.Buffer
	c := &Config{
		Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		Timeout: 30 * time.Second, Stdout: &out,
	}
	if err := c.Run(context.Background()); err != nil {
		if said := strings.TrimSpace(out.String()); said != "" {
			return fmt.Errorf("bubblewrap does not work here: %v: %s", err, said)
		}
		return fmt.Errorf("bubblewrap does not work here: %v", err)
	}
	return nil
}

// Hint is what to tell a user on whose host Available fails.
const Hint = "install bubblewrap (apt-get install bubblewrap), or pass --no-sandbox to build without one"
