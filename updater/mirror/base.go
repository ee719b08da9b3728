package mirror

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// ErrBase means a mirror's address is neither an http(s) URL nor a
// directory.
var ErrBase = errors.New("not a mirror address")

// hasScheme matches what starts like a URL: a directory name never has
// "://" after a scheme's characters.
var hasScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// ParseBase checks a mirror's address and returns it as Client.Base wants
// it: an http or https URL with a host, as given; a file:// URL (of this
// host, with an absolute path) as its directory; anything else that has
// no scheme as a directory. Another scheme (ftp://, s3://) is refused
// rather than taken for a relative directory of that name.
func ParseBase(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrBase)
	}
	if !hasScheme.MatchString(s) {
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrBase, Redact(s), unwrapURL(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("%w: %s: no host", ErrBase, Redact(s))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("%w: %s: a mirror's URL has no query or fragment (the client appends the layout's paths)", ErrBase, Redact(s))
		}
		return s, nil
	case "file":
		if (u.Host != "" && u.Host != "localhost") || u.Path == "" || u.Path[0] != '/' || u.RawQuery != "" {
			return "", fmt.Errorf("%w: %s: a file URL is file:///ABSOLUTE/PATH", ErrBase, s)
		}
		return u.Path, nil
	}
	return "", fmt.Errorf("%w: %s: scheme %q (want a directory, file://, http:// or https://)", ErrBase, Redact(s), u.Scheme)
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Redact is s, if it is a URL, without its user name, password, query and
// fragment: what a mirror's or a log's address may carry as a credential.
// Anything else is returned as it is.
func Redact(s string) string {
	if !hasScheme.MatchString(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return scheme(s) + "://(an address that does not parse)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

func scheme(s string) string { before, _, _ := strings.Cut(s, "://"); return before }

// ErrRedirect means an HTTP mirror redirected to another origin.
var ErrRedirect = errors.New("the mirror redirects elsewhere")

// maxRedirects bounds a chain of redirects within the mirror's origin.
const maxRedirects = 5

// sameOrigin is the client's redirect rule: a redirect is followed only to
// the scheme, host and port of the mirror's URL, so a mirror cannot make
// the client fetch from an address only the client can reach (a cloud
// metadata service, an admin page on localhost) nor downgrade https to
// http. A mirror network that sends clients to other hosts is listed by
// those hosts' URLs instead.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: to %s://%s (a redirect is followed only within %s://%s; list the other URL as a mirror if you trust it)",
			ErrRedirect, req.URL.Scheme, req.URL.Host, first.Scheme, first.Host)
	}
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
	}
	return nil
}
