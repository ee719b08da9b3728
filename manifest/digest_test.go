package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestDigestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a")
	data := []byte(strings.Repeat("ssms", 1<<18+3)) // over one buffer
	os.WriteFile(path, data, 0o644)
	sum := sha256.Sum256(data)
	var sized int64
	d, err := DigestFile(path, func(r io.Reader, size int64) io.Reader { sized = size; return r })
	if err != nil || d.SHA256 != hex.EncodeToString(sum[:]) || sized != int64(len(data)) {
		t.Fatalf("DigestFile = %v, %v (size %d)", d, err, sized)
	}
	if _, err := DigestFile(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("missing file hashed")
	}
}

// zeros yields n zero bytes without allocating.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// TestDigestMemoryFlat hashes 16 MiB and 512 MiB streams: the memory
// allocated must not grow with the size.
func TestDigestMemoryFlat(t *testing.T) {
	alloc := func(n int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, got, err := DigestReader(&zeros{n}); err != nil || got != n {
			t.Fatalf("hashed %d of %d bytes: %v", got, n, err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(16<<20), alloc(512<<20)
	t.Logf("allocated %d bytes for 16 MiB, %d bytes for 512 MiB", small, large)
	if large > 2*hashBuffer || large > small+64<<10 {
		t.Fatalf("memory grows with the input: %d bytes for 16 MiB, %d for 512 MiB", small, large)
	}
}

// benchFile writes the file both hashers read: SSMS_BENCH_HASH_MIB MiB
// (default 1024, the budget's 1 GiB) of pseudo-random bytes.
func benchFile(b *testing.B) (string, int64) {
	mib := int64(1024)
	if s := os.Getenv("SSMS_BENCH_HASH_MIB"); s != "" {
		mib, _ = strconv.ParseInt(s, 10, 64)
	}
	path := filepath.Join(b.TempDir(), "artifact")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + i>>8)
	}
	for i := int64(0); i < mib; i++ {
		chunk[0] = byte(i)
		f.Write(chunk)
	}
	f.Close()
	return path, mib << 20
}

// BenchmarkHash compares DigestFile with sha256sum on the same file in the
// same run (the budget: ours ≥ 90 % of sha256sum's throughput). Compare the
// MB/s of the two sub-benchmarks, or feed several runs to benchstat.
func BenchmarkHash(b *testing.B) {
	path, size := benchFile(b)
	b.Run("ssms", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := DigestFile(path, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// sha256sum is the budget's anchor; openssl, which uses the CPU's SHA
	// extensions as Go does, is the stronger one.
	for name, argv := range map[string][]string{
		"sha256sum": {"sha256sum", path},
		"openssl":   {"openssl", "dgst", "-sha256", path},
	} {
		b.Run(name, func(b *testing.B) {
			if _, err := exec.LookPath(argv[0]); err != nil {
				b.Skip("not installed")
			}
			b.SetBytes(size)
			for b.Loop() {
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}
