package trillianlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/google/trillian"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/translog"

	"github.com/go-sql-driver/mysql"
)

// Options configure a front end.
type Options struct {
	// TreeID is the Trillian PREORDERED_LOG tree.
	TreeID int64
	// Key is the log's note key (ssms log init writes one).
	Key *translog.Key
	// Witness configures cosigning, as for the embedded store.
	Witness translog.WitnessOptions
	// Poll is how often the front end reads the latest checkpoint and the
	// checkpointer asks Trillian for its root (default 10 ms).
	Poll time.Duration
	// MaxPending bounds the additions waiting at once (default
	// translog.DefaultMaxPending); beyond it Add is ErrOverloaded.
	MaxPending int
	// OnError is told of a checkpointer round that failed (Trillian or
	// the database unreachable, say); the next round retries. May be nil.
	OnError func(error)
	// OnAlarm is told when Trillian or the database contradicts a signed
	// checkpoint; nothing is signed after it. May be nil.
	OnAlarm func(error)
	// StateFile, when set, keeps the latest checkpoint this front end
	// served, outside the database: a front end restarted over a database
	// restored from an older backup then raises an alarm instead of
	// serving (or signing) a history that contradicts what it served.
	StateFile string
	// NoCheckpointer makes this front end never stand for checkpointer
	// (tests use it to run one signer among several front ends).
	NoCheckpointer bool
}

// ErrAlarm marks a contradiction between Trillian, the database and the
// checkpoints the log signed.
var ErrAlarm = errors.New("ALARM: the log's storage contradicts a signed checkpoint")

// Log is one front end of a log on Trillian: a translog.Backend.
type Log struct {
	db     *sql.DB
	conn   *grpc.ClientConn
	client trillian.TrillianLogClient
	opts   Options
	tree   int64
	origin string
	tiles  *tileCache

	pending chan struct{}
	inbox   chan *queued // entries for writeQueue
	stop    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once

	mu      sync.Mutex
	cp      *translog.SignedCheckpoint
	served  *translog.SignedCheckpoint // from StateFile, until cp is set
	changed chan struct{}              // closed when cp changes
	waiters map[tlog.Hash][]*waiter
	alarm   error
}

type waiter struct {
	done  chan struct{}
	index int64
	cp    *translog.SignedCheckpoint
}

// Open connects to the database (dsn, go-sql-driver/mysql syntax) and to
// Trillian's log server at addr, and returns once the log has a signed
// checkpoint (the first front end of a new log signs the empty tree).
func Open(ctx context.Context, dsn, addr string, opts Options) (*Log, error) {
	if opts.Key == nil || opts.TreeID == 0 {
		return nil, errors.New("trillianlog: a key and a tree ID are required")
	}
	if opts.Poll <= 0 {
		opts.Poll = 10 * time.Millisecond
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = translog.DefaultMaxPending
	}
	l, err := connect(ctx, dsn, addr, opts)
	if err != nil {
		return nil, err
	}
	if n, err := importing(ctx, l.db, l.tree); err != nil || n > 0 {
		l.Close()
		if err == nil {
			err = fmt.Errorf("tree %d: %w", l.tree, errImporting)
		}
		return nil, err
	}
	if err := l.readState(); err != nil {
		l.Close()
		return nil, err
	}
	if !opts.NoCheckpointer {
		l.wg.Add(1)
		go l.elect()
	}
	for {
		if err := l.poll(ctx); err != nil {
			l.Close()
			return nil, err
		}
		if err := l.Alarm(); err != nil {
			l.Close()
			return nil, err
		}
		if l.Checkpoint() != nil {
			break
		}
		select {
		case <-ctx.Done():
			l.Close()
			return nil, fmt.Errorf("no signed checkpoint yet (is a checkpointer running?): %w", ctx.Err())
		case <-time.After(opts.Poll):
		}
	}
	l.wg.Add(1 + queueWriters)
	go l.follow()
	for range queueWriters {
		go l.writeQueue()
	}
	return l, nil
}

// connect opens the database and the connection to Trillian, binds the
// tree to the key and checks the tree; nothing runs yet.
func connect(ctx context.Context, dsn, addr string, opts Options) (*Log, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	// Rows affected count the rows changed (enqueue tells new entries by
	// them), and arguments are sent inside the statement: one round trip
	// instead of prepare, execute and close (the driver refuses it for the
	// few character sets where that is unsafe).
	cfg.ClientFoundRows, cfg.InterpolateParams = false, true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(32)
	if err := bindTree(ctx, db, opts.TreeID, opts.Key.Signer.Name(), opts.Key.VKey); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("trillian at %s: %w", addr, err)
	}
	l := &Log{db: db, conn: conn, client: trillian.NewTrillianLogClient(conn), opts: opts, tree: opts.TreeID,
		origin: opts.Key.Signer.Name(), tiles: newTileCache(db, opts.TreeID),
		pending: make(chan struct{}, opts.MaxPending), inbox: make(chan *queued, maxQueueRows),
		stop: make(chan struct{}), changed: make(chan struct{}), waiters: map[tlog.Hash][]*waiter{}}
	if err := checkTree(ctx, conn, opts.TreeID); err != nil {
		l.Close()
		return nil, fmt.Errorf("trillian at %s: %w", addr, err)
	}
	return l, nil
}

// Close stops the front end; additions waiting fail with ErrClosed.
func (l *Log) Close() error {
	l.closing.Do(func() { close(l.stop) })
	l.wg.Wait()
	return errors.Join(l.conn.Close(), l.db.Close())
}

// Origin is the log's origin.
func (l *Log) Origin() string { return l.origin }

// VerifierKey is the log's note verifier key.
func (l *Log) VerifierKey() string { return l.opts.Key.VKey }

// Checkpoint is the latest signed checkpoint this front end has verified.
func (l *Log) Checkpoint() *translog.SignedCheckpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cp
}

// Alarm returns the alarm raised, if any.
func (l *Log) Alarm() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.alarm
}

func (l *Log) raise(err error) {
	err = fmt.Errorf("%w: %v", ErrAlarm, err)
	l.mu.Lock()
	first := l.alarm == nil
	if first {
		l.alarm = err
		// Wake the additions waiting: nothing will be signed for them.
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
	if first && l.opts.OnAlarm != nil {
		l.opts.OnAlarm(err)
	}
}

// follow polls the latest checkpoint until Close.
func (l *Log) follow() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.mu.Lock()
			for _, ws := range l.waiters {
				for _, w := range ws {
					closeOnce(w)
				}
			}
			l.mu.Unlock()
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			l.poll(ctx) // a database that is down leaves the last checkpoint served
			cancel()
		}
	}
}

func closeOnce(w *waiter) {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
}

// poll reads the latest stored checkpoint and, if it is new, verifies it
// and that it extends the one served, then serves it and answers the
// additions it covers. Only a contradiction is an alarm; a failure to
// read is returned.
func (l *Log) poll(ctx context.Context) error {
	raw, err := latestCheckpoint(ctx, l.db, l.tree, false)
	if err != nil || raw == nil {
		return err
	}
	l.mu.Lock()
	old, served := l.cp, l.cp
	if old == nil {
		old = l.served
	}
	l.mu.Unlock()
	if old != nil && string(old.Raw) == string(raw) && served != nil {
		return nil
	}
	cp, err := translog.OpenCheckpoint(raw, l.origin, l.opts.Key.Verifier)
	if err != nil {
		l.raise(fmt.Errorf("stored checkpoint: %v", err))
		return nil
	}
	if old != nil {
		if err := l.extends(old, cp); errors.Is(err, errRead) {
			return err // the next poll tries again
		} else if err != nil {
			l.raise(err)
			return nil
		}
	}
	var resolve []*waiter
	var at []int64
	l.mu.Lock()
	pending := len(l.waiters) > 0
	l.mu.Unlock()
	if err := l.writeState(old, cp); err != nil {
		return err
	}
	if pending && served != nil && cp.Size > old.Size {
		hashes, err := l.leafHashes(cp, old.Size, cp.Size)
		if err != nil {
			return err
		}
		l.mu.Lock()
		for i, h := range hashes {
			for _, w := range l.waiters[h] {
				resolve, at = append(resolve, w), append(at, old.Size+int64(i))
			}
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.cp = cp
	close(l.changed)
	l.changed = make(chan struct{})
	for i, w := range resolve {
		w.index, w.cp = at[i], cp
		closeOnce(w)
	}
	l.mu.Unlock()
	return nil
}

// readState reads the checkpoint the front end served last, if any.
func (l *Log) readState() error {
	if l.opts.StateFile == "" {
		return nil
	}
	raw, err := os.ReadFile(l.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.served, err = translog.OpenCheckpoint(raw, l.origin, l.opts.Key.Verifier); err != nil {
		return fmt.Errorf("%s: %w", l.opts.StateFile, err)
	}
	return nil
}

// writeState records cp as served, before it is.
func (l *Log) writeState(old, cp *translog.SignedCheckpoint) error {
	if l.opts.StateFile == "" || (old != nil && string(old.Raw) == string(cp.Raw)) {
		return nil
	}
	return atomicfile.Write(l.opts.StateFile, cp.Raw, 0o644)
}

// known is the latest checkpoint this front end served.
func (l *Log) known() *translog.SignedCheckpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cp != nil {
		return l.cp
	}
	return l.served
}

// extends checks that cp extends old: the same root for the same size,
// and a consistency proof from the stored tiles otherwise.
func (l *Log) extends(old, cp *translog.SignedCheckpoint) error {
	switch {
	case cp.Size < old.Size:
		return fmt.Errorf("the stored checkpoint has size %d, smaller than the %d this front end served (database restored?)", cp.Size, old.Size)
	case cp.Size == old.Size && cp.Hash != old.Hash:
		return fmt.Errorf("two roots signed for size %d", cp.Size)
	case cp.Size == old.Size || old.Size == 0:
		return nil
	}
	proof, err := tlog.ProveTree(cp.Size, old.Size, l.hashReader(cp))
	if err == nil {
		err = tlog.CheckTree(proof, cp.Size, cp.Hash, old.Size, old.Hash)
	}
	if err != nil {
		return fmt.Errorf("checkpoint of size %d is not consistent with size %d: %w", cp.Size, old.Size, err)
	}
	return nil
}

// leafHashes reads the leaf hashes of entries [from, to) of cp's tree,
// checked against its root.
func (l *Log) leafHashes(cp *translog.SignedCheckpoint, from, to int64) ([]tlog.Hash, error) {
	indexes := make([]int64, 0, to-from)
	for i := from; i < to; i++ {
		indexes = append(indexes, tlog.StoredHashIndex(0, i))
	}
	return l.hashReader(cp).ReadHashes(indexes)
}

// Add queues entry and waits for a checkpoint that covers it.
func (l *Log) Add(ctx context.Context, entry []byte) (int64, *translog.SignedCheckpoint, error) {
	if len(entry) > translog.MaxEntrySize {
		return 0, nil, translog.ErrTooLarge
	}
	if err := l.Alarm(); err != nil {
		return 0, nil, err
	}
	select {
	case l.pending <- struct{}{}:
		defer func() { <-l.pending }()
	default:
		return 0, nil, translog.ErrOverloaded
	}
	h := tlog.RecordHash(entry)
	w := &waiter{done: make(chan struct{})}
	l.mu.Lock()
	l.waiters[h] = append(l.waiters[h], w)
	l.mu.Unlock()
	defer l.forget(h, w)

	dup, err := l.enqueue(ctx, entry, h)
	if err != nil {
		return 0, nil, err
	}
	for {
		l.mu.Lock()
		changed, alarm := l.changed, l.alarm
		l.mu.Unlock()
		if alarm != nil {
			return 0, nil, alarm
		}
		if dup {
			// Taken before, by this front end or another: it may have
			// been covered by a checkpoint long ago, or be in flight.
			if i, cp, ok := l.lookup(ctx, h); ok {
				return i, cp, nil
			}
		}
		select {
		case <-w.done:
			if w.cp == nil {
				return 0, nil, translog.ErrClosed
			}
			return w.index, w.cp, nil
		case <-changed:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-l.stop:
			return 0, nil, translog.ErrClosed
		}
	}
}

func (l *Log) forget(h tlog.Hash, w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws := l.waiters[h]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(l.waiters, h)
	} else {
		l.waiters[h] = ws
	}
}

// rpcError maps Trillian's refusals to translog's: a Trillian that is
// busy or down is an overloaded log (503, retry), not an internal error.
func rpcError(what string, err error) error {
	switch status.Code(err) {
	case codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return fmt.Errorf("%w: %s: %v", translog.ErrOverloaded, what, err)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", what, context.Canceled)
	}
	return fmt.Errorf("%s: trillian: %v", what, err)
}

// hashReader reads the stored hashes of cp's tree from the tiles, each
// tile checked against cp's root.
func (l *Log) hashReader(cp *translog.SignedCheckpoint) tlog.HashReader {
	return l.tiles.hashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash})
}

func (l *Log) published(size int64) (*translog.SignedCheckpoint, error) {
	cp := l.Checkpoint()
	if size > cp.Size {
		return nil, fmt.Errorf("%w: size %d, published %d", translog.ErrNotFound, size, cp.Size)
	}
	return cp, nil
}

// InclusionProof proves entry index in the tree of size size.
func (l *Log) InclusionProof(index, size int64) ([]tlog.Hash, error) {
	cp, err := l.published(size)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("index %d is not in a tree of size %d", index, size)
	}
	return tlog.ProveRecord(size, index, l.hashReader(cp))
}

// ConsistencyProof proves the tree of size old a prefix of that of size new.
func (l *Log) ConsistencyProof(old, new int64) ([]tlog.Hash, error) {
	cp, err := l.published(new)
	if err != nil {
		return nil, err
	}
	if old < 0 || old > new {
		return nil, fmt.Errorf("old size %d is not between 0 and %d", old, new)
	}
	if old == 0 || old == new {
		return []tlog.Hash{}, nil
	}
	return tlog.ProveTree(new, old, l.hashReader(cp))
}

// Tile returns a hash tile of the published tree.
func (l *Log) Tile(level, n int64, w int) ([]byte, error) {
	cp := l.Checkpoint()
	if err := translog.CheckTile(cp.Size, level, n, w); err != nil {
		return nil, err
	}
	// Built from hashes checked against the signed root, not served as
	// the database holds it.
	data, err := tlog.ReadTileData(tlog.Tile{H: translog.TileHeight, L: int(level), N: n, W: w}, l.hashReader(cp))
	if err != nil && !errors.Is(err, errRead) {
		l.raise(fmt.Errorf("tile %d/%d: %v", level, n, err))
	}
	return data, err
}

// EntryBundle returns an entry bundle of the published tree.
func (l *Log) EntryBundle(n int64, w int) ([]byte, error) {
	cp := l.Checkpoint()
	if err := translog.CheckTile(cp.Size, 0, n, w); err != nil {
		return nil, err
	}
	b, err := l.tiles.read(context.Background(), entriesLevel, n, w)
	if err != nil {
		return nil, err
	}
	if err := checkBundle(b, n, l.hashReader(cp)); err != nil {
		if !errors.Is(err, errRead) {
			l.raise(err)
		}
		return nil, err
	}
	return b, nil
}
