// Package tessera compares the SSMS embedded log (translog) with
// Tessera's POSIX driver, the Trillian team's maintained tile log, on the
// same machine, in the same run, with the same entries. It is its own
// module so that Tessera's dependencies stay out of the main module.
//
//	cd bench/tessera && go test -run '^$' -bench . -count 6 | benchstat -
package tessera
