// Package smp is the wire protocol of the Simplex Messaging Protocol as the
// seed specification defines it: transmissions, commands, server messages,
// errors and keys. The server (smp/server) and client (smp/client) build on
// it.
//
// # Transmission
//
//	transmission = signature LF signed LF
//	signed       = connId LF msg
//	msg          = command line, and for a binary SEND: LF size bytes
//
// signature and connId are standard base64 with padding, possibly empty.
// Lines may end in LF or CRLF; the server writes LF. The signature covers
// signed exactly as received, from the first byte of the connId line to the
// last byte of the message, line terminators included. Example (a binary
// SEND of the 5 bytes "hello", unsigned):
//
//	<empty>
//	gQkA8Q0tYlZfLPmFMvOGQA==
//	SEND 5
//	hello
//
// # Commands
//
//	recipient: CONN key [dhkey] | SUB | KEY key | ACK | HOLD | DEL
//	sender:    SEND :text | SEND size LF bytes
//	server:    IDS rid sid [dhkey] | MSG time body | OK | END | ERR type
//
// With an X25519 dhkey in CONN, the server answers with its own for the
// queue and then encrypts every delivered body to the recipient: the MSG
// body is binary, nonce (24 bytes) || NaCl crypto_box(body), so what the
// sender sent and what the recipient receives share no ciphertext.
//
//	errors:    UNKNOWN | PROHIBITED | SYNTAX n | SIZE | AUTH | INTERNAL
//	SYNTAX 2 bad parameters (bad base64, a weak key, a line with a CR),
//	       3 missing credentials, 4 credentials not allowed,
//	       5 missing connId, 6 bad message body (neither a size nor ":")
//	SIZE     a body over the limit (a string SEND's line over 16 KiB
//	         included), a size too large for a number, a binary body of
//	         another size than declared, or a message that does not fit the
//	         queue or the server
//	AUTH     bad signature, unknown or suspended queue, the wrong party's ID;
//	         also CONN beyond the queues allowed per connection or in total
//
// A body or line too large is skipped, never held, so the connection
// stays usable; past 1 MiB skipping would let one transmission occupy the
// connection for ever, so a larger declared size is answered ERR SIZE and
// the connection closed, and a line with no LF within 1 MiB closes it.
//
// Keys are base64 DER SubjectPublicKeyInfo: Ed25519 (canonical, not of
// small order), or RSA of 2048, 3072 or 4096 bits with exponent 65537,
// whose signatures are RSA-PSS with SHA-256 (salt length 32), as the
// specification requires. X25519 keys of small order are refused, and so
// are those not in canonical form (u at least 2^255 - 19, or bit 255
// set): X25519 reads them as another u, so one key would have two
// encodings. Every base64 field and MSG time is accepted only in the one
// form this package writes.
package smp
