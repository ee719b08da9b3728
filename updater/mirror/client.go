package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"ssms.dev/ssms/internal/progress"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
)

// DefaultIdle is how long a download may go without a byte before the
// client gives up on the mirror.
const DefaultIdle = 30 * time.Second

// Client reads one mirror. Nothing it returns is trusted: the caller
// verifies the bundle, and Artifact checks the digest and size it is given.
type Client struct {
	// Base is the mirror: an http or https URL, or a local directory (see
	// ParseBase, which also takes file:// URLs).
	Base string
	// HTTP is the client for URLs (default: a client whose transport
	// waits at most DefaultIdle for a connection and for headers). Its
	// redirects are followed only within the mirror's origin, whatever
	// its CheckRedirect says.
	HTTP *http.Client
	// Idle is how long a request may go without a byte, from sending it to
	// the end of the body (default DefaultIdle).
	Idle time.Duration
	// MinRate and Allowance give each download its deadline (Deadline);
	// the caller's context bounds them all.
	MinRate   int64 // bytes per second; default DefaultMinRate
	Allowance time.Duration
	// Progress, if a terminal, shows a bar while an artifact downloads.
	Progress io.Writer
}

// Error is a mirror's failure: which mirror, which file, what was wrong.
type Error struct {
	Mirror string
	Path   string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("mirror %s: %s: %v", Redact(e.Mirror), e.Path, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound means the mirror does not have the file.
var ErrNotFound = errors.New("not on the mirror")

// Latest returns the version the mirror's hint for product names, read up
// to MaxLatestSize bytes. It is a hint: the log decides what is newest.
func (c *Client) Latest(ctx context.Context, product string) (string, error) {
	p, err := LatestPath(product)
	if err != nil {
		return "", err
	}
	data, err := c.small(ctx, p, MaxLatestSize)
	if err != nil {
		return "", err
	}
	v, err := ParseLatest(data)
	if err != nil {
		return "", c.fail(p, err)
	}
	return v, nil
}

// Bundle returns the bundle of product at version, read up to
// verifier.MaxBundleSize bytes and not otherwise checked.
func (c *Client) Bundle(ctx context.Context, product, version string) ([]byte, error) {
	p, err := BundlePath(product, version)
	if err != nil {
		return nil, err
	}
	return c.small(ctx, p, verifier.MaxBundleSize)
}

// Artifact downloads the artifact with digest d and signed size into a
// new temporary file in dir, the install directory, so that the caller
// can rename it into place atomically, and returns the file's path. It
// reads at most size+1 bytes, hashing them as it writes, and keeps the
// file, synced, only if it is exactly size bytes with digest d: a longer
// stream (ErrTooLong), a shorter one (ErrTooShort) or other bytes
// (ErrDigest) leave no file behind.
func (c *Client) Artifact(ctx context.Context, d manifest.Digest, size int64, dir string) (string, error) {
	p, err := ArtifactPath(d)
	if err != nil {
		return "", err
	}
	if size < 0 || size > manifest.MaxArtifactSize {
		return "", fmt.Errorf("artifact size %d: want 0 to %d bytes", size, int64(manifest.MaxArtifactSize))
	}
	ctx, done := c.watch(ctx, size)
	defer done()
	body, err := c.open(ctx, p, size, ErrTooLong)
	if err != nil {
		return "", c.fail(p, err)
	}
	defer body.Close()
	name, err := stage(dir, progress.Reader(body, size, "downloading", c.Progress), d, size)
	if err != nil {
		return "", c.fail(p, cause(ctx, err))
	}
	return name, nil
}

// small reads a file of at most limit bytes whole.
func (c *Client) small(ctx context.Context, p string, limit int64) ([]byte, error) {
	ctx, done := c.watch(ctx, limit)
	defer done()
	body, err := c.open(ctx, p, limit, ErrTooLarge)
	if err != nil {
		return nil, c.fail(p, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, c.fail(p, cause(ctx, err))
	}
	if int64(len(data)) > limit {
		return nil, c.fail(p, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit))
	}
	return data, nil
}

func (c *Client) fail(p string, err error) error { return &Error{Mirror: c.Base, Path: p, Err: err} }

// open returns the body of the file at the layout path p, refused with
// tooBig before a byte is read if its announced length is over limit (the
// reader caps it all the same).
func (c *Client) open(ctx context.Context, p string, limit int64, tooBig error) (io.ReadCloser, error) {
	base, err := ParseBase(c.Base)
	if err != nil {
		return nil, err
	}
	if !c.remote() {
		f, err := openLocal(base, p)
		if err != nil {
			return nil, err
		}
		return &watched{f, ctx}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/"+p, nil)
	if err != nil {
		return nil, err
	}
	hc := *c.httpClient()
	hc.CheckRedirect = sameOrigin
	resp, err := hc.Do(req)
	if err != nil {
		return nil, cause(ctx, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if resp.ContentLength > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: the mirror announces %d bytes, more than %d", tooBig, resp.ContentLength, limit)
		}
		return &watched{resp.Body, ctx}, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, ErrNotFound
	}
	resp.Body.Close()
	return nil, fmt.Errorf("HTTP status %s", resp.Status)
}

func (c *Client) remote() bool {
	s := strings.ToLower(c.Base)
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Remote says whether the mirror at base is an HTTP one, not a directory.
func Remote(base string) bool { return (&Client{Base: base}).remote() }

var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	TLSHandshakeTimeout:   10 * time.Second,
	ResponseHeaderTimeout: DefaultIdle,
	IdleConnTimeout:       90 * time.Second,
	MaxIdleConnsPerHost:   4,
}}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}
