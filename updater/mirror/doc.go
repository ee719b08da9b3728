// Package mirror lays out, fills, serves and reads release mirrors:
// untrusted byte stores that any web server, object store or directory can
// hold. Nothing a mirror says is believed: a bundle is checked by the
// verifier, an artifact by the digest and size its release signs, and the
// latest hint only says which bundle to fetch first.
//
// # Layout
//
// A mirror is a directory tree of three kinds of files, for example:
//
//	sha256/
//	    4a5c…e1f0                the artifact whose SHA-256 is 4a5c…e1f0
//	    9b07…33ad
//	smp-server/
//	    1.0.0.bundle            the bundle of smp-server 1.0.0 (verifier.MediaType)
//	    1.1.0-rc.1.bundle
//	    latest                  "1.1.0-rc.1\n": the newest version added, unsigned
//
// PRODUCT is a product name (manifest.CheckProduct), VERSION a release
// version in canonical semantic-version form without "v" (as the release
// statement has it), HEX 64 lowercase hexadecimal digits. Every other name
// is refused: by Add, which writes nothing else, by Handler, which answers
// 404 (an unknown path) or 400 (a layout path with a bad name), and by
// Client, which asks for nothing else.
//
// Artifacts are named by their digest and never change: a file there
// with other bytes is an error, not something to overwrite. A bundle may be
// replaced by a fresher bundle of the same release. The latest hint is one
// line, the version and "\n", at most MaxLatestSize bytes; it is unsigned,
// so it only points (the log decides what is newest).
//
// # Addresses
//
// A mirror is an http or https URL, a directory, or a file:// URL of a
// directory (ParseBase); another scheme is refused, not taken for a
// directory of that name.
//
// # Downloads
//
// Client reads a bundle up to verifier.MaxBundleSize, a hint up to
// MaxLatestSize, and an artifact up to its signed size and one byte more,
// streamed to a temporary file in the install directory while it is
// hashed, so nothing is held whole in memory and a mirror's endless or
// wrong stream costs at most the signed size in disk.
//
// In time, a download costs at most its Deadline: DefaultAllowance (30
// s) plus its size (a small file's limit, an artifact's signed size) at
// DefaultMinRate (64 KiB/s), so 46 s for a bundle and about 17 minutes
// for a 64 MiB artifact; and it is given up after DefaultIdle (30 s)
// without a byte. A mirror that trickles a byte just inside the idle
// timeout is cut off at the deadline. The updater bounds its whole run
// as well (updater.DefaultTimeout).
//
// A directory mirror may be writable by others (a shared, network or
// removable directory): the client opens only regular files there,
// reached through no symbolic link below the mirror's directory (os.Root,
// O_NOFOLLOW, an fstat after the open), and with O_NONBLOCK, so a link
// cannot make it read a file outside the mirror and a FIFO cannot block
// it; both are ErrNotRegular. Errors name the file's layout path, not the
// local directory.
//
// An HTTP mirror's redirects are followed, up to 5, only within the
// mirror's own scheme, host and port (ErrRedirect otherwise): a mirror
// cannot send the client to an address only the client reaches (a cloud
// metadata service, an admin page on localhost), nor from https to http.
// A mirror network that redirects to other hosts is listed by the URLs
// of those hosts instead; the layout is static files, which any web
// server, object store or CDN serves at their own URL.
package mirror
