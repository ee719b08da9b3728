package report

import "regexp"

var (
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s"'<>]*@`)
	urlQuery    = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>?#]*)[?#][^\s"'<>]*`)
)

// Scrub removes from s, wherever a URL appears in it, the user name,
// password, query and fragment: what a mirror's or a log's address may
// carry as a credential, and what an error of Go's HTTP client quotes.
// The updater runs the mirror, log and error of a report through it.
func Scrub(s string) string {
	return urlQuery.ReplaceAllString(urlUserinfo.ReplaceAllString(s, "$1"), "$1")
}
