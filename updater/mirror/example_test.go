package mirror_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"ssms.dev/ssms/updater/mirror"
)

// A mirror can be a plain directory; its latest hint only says which
// bundle to fetch and verify first.
func ExampleClient_Latest() {
	dir, _ := os.MkdirTemp("", "mirror")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "latest"), mirror.FormatLatest("1.2.0"), 0o644)

	c := &mirror.Client{Base: dir}
	v, err := c.Latest(context.Background(), "app")
	fmt.Println(v, err)
	p, _ := mirror.BundlePath("app", v)
	fmt.Println(p)
	_, err = c.Latest(context.Background(), "../etc")
	fmt.Println(err != nil)
	// Output:
	// 1.2.0 <nil>
	// app/1.2.0.bundle
	// true
}
