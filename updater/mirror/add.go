package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/mod/semver"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
)

// ErrArtifact means an artifact given to Add is not one its release signs.
var ErrArtifact = errors.New("artifact does not match the release")

// Add puts a release into the mirror in dir: the bundle, the artifacts
// (a map from the artifact's name in the release to the file's path) and,
// if the release is newer than the hint there, the latest hint. It checks
// first that the bundle parses and that each artifact is a subject of its
// release with that digest and signed size, copying each into dir while
// it hashes it; only then does it write, each file atomically. An artifact
// already in dir is kept, and an error if its bytes differ. Add does not
// verify the bundle's signatures or proofs: callers run verifier.Verify
// (ssms mirror add does, in verifier.ModePublish).
func Add(dir string, bundle []byte, artifacts map[string]string) (*manifest.ReleaseStatement, error) {
	rel, err := bundledRelease(bundle)
	if err != nil {
		return nil, err
	}
	p := rel.Predicate
	bundlePath, err := BundlePath(p.Product, p.Version)
	if err != nil {
		return nil, err
	}
	if err := mkdirs(dir, p.Product); err != nil {
		return nil, err
	}
	staged := map[string]string{} // final path → temporary file
	defer func() {
		for _, tmp := range staged {
			os.Remove(tmp)
		}
	}()
	for _, name := range sortedKeys(artifacts) {
		final, tmp, err := stageArtifact(dir, rel, name, artifacts[name])
		if err != nil {
			return nil, err
		}
		if _, dup := staged[final]; dup {
			os.Remove(tmp) // two names of one release with the same bytes
			continue
		}
		staged[final] = tmp
	}
	for final, tmp := range staged {
		if err := place(tmp, final); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.SyncDir(filepath.Join(dir, artifactDir)); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, filepath.FromSlash(bundlePath)), bundle, 0o644); err != nil {
		return nil, err
	}
	return rel, updateLatest(dir, p.Product, p.Version)
}

// bundledRelease parses a bundle and the release statement it carries.
func bundledRelease(bundle []byte) (*manifest.ReleaseStatement, error) {
	b, err := verifier.ParseBundle(bundle)
	if err != nil {
		return nil, err
	}
	env, err := manifest.ParseEnvelope(b.Release.Entry)
	if err != nil {
		return nil, fmt.Errorf("bundle: release: %w", err)
	}
	rel, err := manifest.ParseRelease(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("bundle: release: %w", err)
	}
	return rel, nil
}

// stageArtifact copies the artifact name of rel from path into a
// temporary file in dir/sha256, checked against its subject.
func stageArtifact(dir string, rel *manifest.ReleaseStatement, name, path string) (final, tmp string, err error) {
	p := rel.Predicate
	sub, ok := manifest.FindSubject(rel.Subject, name)
	if !ok {
		return "", "", fmt.Errorf("%w: %s is not an artifact of %s %s", ErrArtifact, name, p.Product, p.Version)
	}
	size, ok := sub.Size()
	if !ok {
		return "", "", fmt.Errorf("%w: %s %s signs no size for %s; a mirror serves only sized artifacts", ErrArtifact, p.Product, p.Version, name)
	}
	rel2, err := ArtifactPath(sub.Digest)
	if err != nil {
		return "", "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	tmp, err = stage(filepath.Join(dir, artifactDir), f, sub.Digest, size)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s (%s): %w", ErrArtifact, name, path, err)
	}
	return filepath.Join(dir, filepath.FromSlash(rel2)), tmp, nil
}

// place links tmp to final unless final exists; an existing final must
// have the same bytes (it is named by their digest).
func place(tmp, final string) error {
	err := os.Link(tmp, final)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	d, err := manifest.DigestFile(final, nil)
	if err != nil {
		return err
	}
	if want := filepath.Base(final); d.SHA256 != want {
		return fmt.Errorf("%s holds other bytes (sha256:%s) than its name says; not overwriting it: remove it if it is damaged", final, d.SHA256)
	}
	return nil
}

// updateLatest points the hint at version unless it names a newer one.
func updateLatest(dir, product, version string) error {
	rel, _ := LatestPath(product)
	path := filepath.Join(dir, filepath.FromSlash(rel))
	old, err := os.ReadFile(path)
	if err == nil {
		if cur, err := ParseLatest(old); err == nil && semver.Compare("v"+cur, "v"+version) >= 0 {
			return nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.Write(path, FormatLatest(version), 0o644)
}

func mkdirs(dir, product string) error {
	for _, d := range []string{artifactDir, product} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
