package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"

	"ssms.dev/ssms/manifest"
)

// Names of the layout.
const (
	artifactDir = "sha256"
	latestName  = "latest"
	bundleExt   = ".bundle"
	// MaxLatestSize bounds the latest hint: a version and a newline.
	MaxLatestSize = 256
	maxVersion    = 128
)

// ErrName means a product, version or digest is not a name of the layout.
var ErrName = errors.New("not a mirror name")

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckVersion accepts a release version: canonical semantic version
// MAJOR.MINOR.PATCH[-PRERELEASE], without "v" or build metadata, as in a
// release statement. Such a name has no "/" and is never "." or "..".
func CheckVersion(v string) error {
	if v == "" || len(v) > maxVersion || "v"+v != semver.Canonical("v"+v) {
		return fmt.Errorf("%w: version %q (want MAJOR.MINOR.PATCH[-PRERELEASE], no \"v\")", ErrName, v)
	}
	return nil
}

func checkProduct(product string) error {
	if err := manifest.CheckProduct(product); err != nil {
		return fmt.Errorf("%w: %v", ErrName, err)
	}
	return nil
}

func checkDigest(d manifest.Digest) error {
	if !hexDigest.MatchString(d.SHA256) {
		return fmt.Errorf("%w: digest %q (want 64 lowercase hex digits)", ErrName, d.SHA256)
	}
	return nil
}

// BundlePath is the slash-separated path of a bundle in the layout.
func BundlePath(product, version string) (string, error) {
	if err := checkProduct(product); err != nil {
		return "", err
	}
	if err := CheckVersion(version); err != nil {
		return "", err
	}
	return path.Join(product, version+bundleExt), nil
}

// LatestPath is the path of a product's latest hint.
func LatestPath(product string) (string, error) {
	if err := checkProduct(product); err != nil {
		return "", err
	}
	return path.Join(product, latestName), nil
}

// ArtifactPath is the path of the artifact with digest d.
func ArtifactPath(d manifest.Digest) (string, error) {
	if err := checkDigest(d); err != nil {
		return "", err
	}
	return path.Join(artifactDir, d.SHA256), nil
}

// ErrLatest means a latest hint is not one version and a newline.
var ErrLatest = errors.New("malformed latest hint")

// ParseLatest reads a latest hint: exactly a version (CheckVersion) and
// "\n", nothing else, at most MaxLatestSize bytes.
func ParseLatest(data []byte) (string, error) {
	if len(data) > MaxLatestSize {
		return "", fmt.Errorf("%w: more than %d bytes", ErrLatest, MaxLatestSize)
	}
	line, ok := bytes.CutSuffix(data, []byte("\n"))
	if !ok {
		return "", fmt.Errorf("%w: no final newline", ErrLatest)
	}
	v := string(line)
	if err := CheckVersion(v); err != nil {
		return "", fmt.Errorf("%w: %v", ErrLatest, err)
	}
	return v, nil
}

// FormatLatest is the latest hint naming version.
func FormatLatest(version string) []byte { return []byte(version + "\n") }

// kind is what a layout path names.
type kind int

const (
	kindNone kind = iota
	kindBundle
	kindLatest
	kindArtifact
)

// parsePath classifies a slash-separated path relative to the mirror's
// root. A path of the layout's shape with a bad name is ErrName; a path of
// no shape of the layout is kindNone.
func parsePath(p string) (kind, error) {
	dir, file, ok := cutOne(p)
	if !ok {
		return kindNone, nil
	}
	switch {
	case dir == artifactDir:
		return kindArtifact, checkDigest(manifest.Digest{SHA256: file})
	case file == latestName:
		return kindLatest, checkProduct(dir)
	}
	v, ok := strings.CutSuffix(file, bundleExt)
	if !ok {
		return kindNone, nil
	}
	if err := checkProduct(dir); err != nil {
		return kindBundle, err
	}
	return kindBundle, CheckVersion(v)
}

// cutOne splits "a/b" into a and b; anything with more or fewer parts
// is not a layout path.
func cutOne(p string) (dir, file string, ok bool) {
	dir, file, ok = strings.Cut(p, "/")
	return dir, file, ok && dir != "" && file != "" && !strings.Contains(file, "/")
}
