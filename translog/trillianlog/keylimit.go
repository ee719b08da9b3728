package trillianlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"ssms.dev/ssms/translog"
)

// ChargeKey is translog.KeyCharger over the database: the per-key limit
// holds across every front end of the log, not per front end. The keys'
// rows are locked while their additions are counted, so that two front
// ends charging the same key at once count one after the other.
func (l *Log) ChargeKey(ctx context.Context, keys []string, limit int, window time.Duration, now time.Time) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys))) // one lock order for all
	for try := 1; ; try++ {
		err := l.chargeOnce(ctx, keys, limit, window, now)
		var my *mysql.MySQLError
		if try < 3 && errors.As(err, &my) && (my.Number == 1213 || my.Number == 1205) {
			continue // deadlock or lock wait timeout: count again
		}
		var rate *translog.RateLimitError
		if err != nil && !errors.As(err, &rate) {
			return fmt.Errorf("%w: counting the key's additions: %v", translog.ErrOverloaded, err)
		}
		return err
	}
}

func (l *Log) chargeOnce(ctx context.Context, keys []string, limit int, window time.Duration, now time.Time) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	list := "?" + strings.Repeat(", ?", len(keys)-1)
	args := []any{l.tree}
	for _, k := range keys {
		args = append(args, k)
	}
	rows := "(?, ?)" + strings.Repeat(", (?, ?)", len(keys)-1)
	var pairs []any
	for _, k := range keys {
		pairs = append(pairs, l.tree, k)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO SsmsKey(TreeId, KeyId) VALUES `+rows+` ON DUPLICATE KEY UPDATE TreeId = TreeId`, pairs...); err != nil {
		return err
	}
	locked, err := tx.QueryContext(ctx, `SELECT KeyId FROM SsmsKey WHERE TreeId = ? AND KeyId IN (`+list+`) ORDER BY KeyId FOR UPDATE`, args...)
	if err != nil {
		return err
	}
	if err := locked.Close(); err != nil {
		return err
	}
	since := now.Add(-window).UnixNano()
	if _, err := tx.ExecContext(ctx, `DELETE FROM SsmsKeyUse WHERE TreeId = ? AND KeyId IN (`+list+`) AND At <= ?`, append(args, since)...); err != nil {
		return err
	}
	res, err := tx.QueryContext(ctx, `SELECT KeyId, COUNT(*), MIN(At) FROM SsmsKeyUse WHERE TreeId = ? AND KeyId IN (`+list+`) GROUP BY KeyId`, args...)
	if err != nil {
		return err
	}
	used, oldest := map[string]int{}, map[string]int64{}
	for res.Next() {
		var k string
		var n int
		var at int64
		if err := res.Scan(&k, &n, &at); err != nil {
			res.Close()
			return err
		}
		used[k], oldest[k] = n, at
	}
	if err := firstErr(res.Close(), res.Err()); err != nil {
		return err
	}
	best, room := "", 0
	var soonest time.Duration
	for _, k := range keys {
		if r := limit - used[k]; r > room {
			best, room = k, r
		}
		if used[k] > 0 {
			if wait := time.Unix(0, oldest[k]).Add(window).Sub(now); soonest == 0 || wait < soonest {
				soonest = wait
			}
		}
	}
	if room == 0 {
		return &translog.RateLimitError{Keys: keys, Limit: limit, Window: window, RetryAfter: soonest}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO SsmsKeyUse(TreeId, KeyId, At) VALUES (?, ?, ?)`, l.tree, best, now.UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}
