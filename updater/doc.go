// Package updater installs the newest verified release of a program over
// the binary that runs, from mirrors it does not trust.
//
// # What is newest: the log decides
//
// An Updater asks the log (or any mirror of its tiles, untrusted too) for
// its latest checkpoint and accepts it only if a quorum of the policy's
// witnesses cosigned it within the policy's maxCheckpointAge and it is
// proven to extend the checkpoint the client accepted before (a proof
// that the log forked is saved as evidence). It then reads the entries
// added since its last check (an index in STATE/index), walks the logged
// policies from the one in force to the newest, each verified as the
// successor of the one before (policies.VerifyNext: a bogus policy logged
// with one leaked key is skipped), and takes as the newest release of its
// product the one with the highest sequence that the maintainers of that
// newest policy approved. A logged release below its threshold, or signed
// by keys a rotation removed, is no release and cannot make a mirror look
// like it hides something; one approved before a rotation that the new
// policy does not approve cannot be installed, and a warning says so. A
// bundle whose policy chain stops before the newest logged policy is
// refused (check "policy"). Entries judged not approved are remembered
// (STATE/index/judged.json), so that a log that did not change costs no
// entry reads. Only then are the mirrors asked, for that release by name;
// their "latest" hint is not read. A mirror that does not serve it is
// reported (check "withheld") and the next is tried; when none serves it,
// that is a freeze (ErrFrozen), reported too. Until the newest release
// has been in the log for FreezeGrace, as this updater saw it, it is only
// not installable yet. A mirror that cannot be read (an HTTP status other
// than 200 and 404, a network failure, a stall, a redirect elsewhere, a
// file that is not a regular one) is a plain error within the grace, and
// after it withholds the release like one that answers 404, reported with
// the error: a mirror that answers 503 run after run freezes its clients
// as surely. The offer is verified
// (verifier.Verify in install mode, with the log's checkpoint as a
// verifier.Fresher head) before its artifact is downloaded, and the
// download must then hash to the verified digest at the signed size. A
// bundle short of rebuild attestations is "not yet" only if the log holds
// too few too: one that the log's attestations would satisfy was
// stripped, and is refused (check "rebuilds").
//
// This is the role TUF gives its timestamp and snapshot metadata, done by
// the log and its witnesses instead of by keys of the project's. TUF's
// timestamp role signs, every few hours, the current snapshot, so that a
// client that sees no fresh timestamp knows it is being held back; its
// key is online, and whoever holds it can freeze or fork clients at will.
// Here freshness comes from witnesses the project does not control, each
// of which must cosign the same append-only history, and "current" is
// whatever the log holds: a frozen mirror is caught by comparing it with
// the log, a frozen log by the witnesses' timestamps (maxCheckpointAge),
// and a log that shows different clients different histories by the
// consistency proofs each client checks and the monitors compare. What
// TUF's delegations and snapshot give (which targets exist, which
// versions) is the log's index of releases here, which anyone can audit.
// The price: a client needs the log (or a tile mirror) reachable to learn
// of an update; offline, it can still verify and install a bundle it is
// given, but it cannot tell whether a newer release exists.
//
// # Refusals
//
// On any refusal the running version stays, and a failure report
// (package report) is written to STATE/reports: what was offered, by
// which mirror, which check failed, and the evidence (the bundle as
// served, the log's checkpoint, a fork's evidence). With Report set, each
// report is also posted to an auditors' endpoint, at most
// report.SubmitTimeout, and a failure to post is only a warning. The
// bytes a mirror served are evidence only if they parse as a bundle;
// URLs in a report lose their credentials and queries, and a directory
// mirror is recorded as "(a local directory)".
//
// # Time
//
// A run, the log's and the mirrors' answers, downloads and install, is
// stopped after Timeout (DefaultTimeout, 30 minutes), each download after
// its own deadline (mirror.Client.Deadline): a hostile mirror or log
// holds the state directory's lock, and so the installed program's
// start, no longer.
//
// # Installing
//
// Install puts a verified release of a program over the
// binary that runs, so that whatever happens during the install (a
// crash, a SIGKILL, a power cut) the binary at PATH is always either the
// old or the new verified version, and the verifier's state (package
// statedir) never records a version that is not in place.
//
// Call Recover first at every start, holding the state directory's lock;
// then, for an update, download the artifact into PATH's directory, verify
// it (verifier.Verify in ModeInstall), and call Install. Install ends with
// the new version committed but unconfirmed: the program restarts into it,
// the new version calls Recover, runs its own start-up self-check
// (verifier.ModeInstalled), and calls Confirm if it passed or RollBack if
// it did not. If it never gets that far, the first Recover after the
// deadline (Request.ConfirmWithin) rolls it back.
//
// # Journal
//
// An install is a journal, DIR/install.journal in the state directory,
// replaced atomically (package atomicfile) under the directory's lock.
// Each step is recorded before it is taken:
//
//  1. stage: the staged file is chmod 0755 and synced, and so is its
//     directory;
//  2. swap: PATH is hard-linked to a temporary name renamed to
//     PATH.previous, the staged file is renamed over PATH, and the
//     directory is synced;
//  3. commit: the next state (Result.Next, kept in the journal) is saved;
//  4. committed: the install waits for Confirm until the deadline;
//
// and, for a roll-back, the step rollback: the previous state (kept in the
// journal) is saved first, then PATH.previous is renamed over PATH and the
// directory synced. Confirm and the end of a roll-back remove the journal.
//
// The state is committed only after the swap is durable, and on a
// roll-back the state goes back before the binary does: at every moment
// the state records the binary at PATH or the one before it, never the
// one after. Recover's documentation gives the rule for each step.
//
// A roll-back restores the state file byte for byte as it was before the
// install, as the self-check of the old version needs it: the log
// checkpoint the install had accepted is forgotten with the rest. The next
// install proves its head consistent with the older checkpoint, so a fork
// is still caught, but a head between the two is accepted again (if it is
// still fresh, maxCheckpointAge): the roll-back costs that much of the
// protection against a freeze.
//
// The journal is one JSON object, at most MaxJournalSize bytes, with
// exactly these fields (shortened with …):
//
//	{"version":1,"step":"committed","path":"/usr/local/bin/app",
//	 "staged":"/usr/local/bin/.ssms-download-123","product":"app",
//	 "old":"sha256:9f86…","new":"sha256:60303…","size":20971520,
//	 "hadState":true,"prevState":"{\"version\":1,…}\n",
//	 "nextState":"{\"version\":1,…}\n","confirmWithin":600,
//	 "deadline":"2026-11-27T04:10:00Z"}
//
// "old" is "" for a first install, when PATH did not exist; "deadline" is
// "" before the step committed. A journal of another version, or one that
// does not parse, is ErrJournalCorrupt, and nothing is changed: a person
// must look. A future incompatible format will use another version.
//
// # Who may write the state directory
//
// The journal names the files an install renames and removes beside the
// binary, so only the state directory's owner may act on it: Recover,
// Install and the updater refuse a state directory or journal that
// another user owns or that group or others may write
// (statedir.ErrNotOwner), as OpenSSH refuses such files. A service that
// updates itself (smp-server --auto-update) owns its state directory and
// its binary's directory; root updating a program owns both. A staged
// file must be named as a download (mirror.DownloadPrefix): undoing an
// install never removes another file.
//
// # Limits
//
// PATH, PATH.previous and the staged file are hashed, up to MaxBinarySize
// bytes. The staged file must be in PATH's directory (a rename is atomic
// only within one file system) and must hash to the verified digest and
// size when Install starts. ConfirmWithin is 1 s to 30 days. The previous
// binary is kept as PATH.previous until the next install replaces it.
//
// # Start-up self-check
//
// A program that runs only as a verified install (smp-server,
// smp-client) calls Start first thing, before it serves or sends. Start
// locks the state directory, calls Recover, hashes the bytes the process
// runs (/proc/self/exe, so a PATH replaced since the exec does not
// count), finds them (digest and size) among the artifacts of the release
// the state records for the program's product, reads that release's
// bundle (statedir.ReadBundle, saved by the install before the state named
// it), and verifies it again, in verifier.ModeInstalled, under the policy
// the program pins. On the first start of a new version it then calls
// Confirm, or RollBack and returns ErrRolledBack: the caller execs PATH,
// the previous version. It releases the lock before it returns, so that
// an update can run while the program serves. SelfCheck makes the same
// check read-only, for --version.
//
// Conventions of the programs: the state directory of the binary
// installed at PATH is PATH.ssms (DefaultStateDir), unless --state DIR or
// $SSMS_STATE says otherwise (smp-client: --install-state, as its --state
// is the conversations' file). The products are "smp-server" and
// "smp-client", as named in policies/ssms.policy.json. The pinned policy
// is the project's, embedded (policies.DefaultEnvelope, then
// verifier.Pin), unless --policy FILE or $SSMS_POLICY names a
// deployment's own.
//
// The self-check is no defence against someone who can write PATH: their
// binary need not check itself. It makes sure that what an operator
// starts is what `ssms update` verified and installed, still verifying
// under the pinned policy: not a build copied in by hand, a file changed
// on disk, or an update that broke.
package updater
