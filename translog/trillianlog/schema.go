package trillianlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// schema is the personality's tables, next to Trillian's in the same
// database. SsmsTile holds for each (level, n) the widest hash tile
// written so far (a narrower tile is its prefix), and at level -1 the
// full entry bundles.
//
// SsmsImport marks a tree that Import (ssms log migrate) is filling: no
// front end signs it until the row is gone, deleted with the imported
// checkpoint.
//
// SsmsKeyUse counts, per key, the additions charged to it within the
// per-key limit's window (unix nanoseconds), for every front end; SsmsKey
// has a row per key, locked while a charge counts.
//
// SsmsQueue is the log's sequence: every entry ever taken, by leaf hash
// (so the same bytes are one row, whichever front end took them), in the
// order taken (Seq). The checkpointer gives each its LeafIndex, recorded
// before the leaf is handed to Trillian, so that an index once given is
// never given again; the bytes are kept until their entry bundle is full
// and stored (Trillian holds them too), and serve partial bundles.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS SsmsLog(
		TreeId BIGINT NOT NULL PRIMARY KEY,
		Origin VARBINARY(1024) NOT NULL,
		VKey VARBINARY(1024) NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS SsmsCheckpoint(
		TreeId BIGINT NOT NULL,
		Size BIGINT NOT NULL,
		RootHash BINARY(32) NOT NULL,
		Note MEDIUMBLOB NOT NULL,
		PRIMARY KEY(TreeId, Size))`,
	`CREATE TABLE IF NOT EXISTS SsmsTile(
		TreeId BIGINT NOT NULL,
		Level TINYINT NOT NULL,
		N BIGINT NOT NULL,
		Width SMALLINT NOT NULL,
		Data LONGBLOB NOT NULL,
		PRIMARY KEY(TreeId, Level, N))`,
	`CREATE TABLE IF NOT EXISTS SsmsQueue(
		TreeId BIGINT NOT NULL,
		LeafHash BINARY(32) NOT NULL,
		Seq BIGINT NOT NULL AUTO_INCREMENT,
		Entry MEDIUMBLOB NOT NULL,
		LeafIndex BIGINT NULL,
		PRIMARY KEY(TreeId, LeafHash),
		UNIQUE KEY(Seq),
		UNIQUE KEY(TreeId, LeafIndex))`,
	`CREATE TABLE IF NOT EXISTS SsmsImport(
		TreeId BIGINT NOT NULL PRIMARY KEY,
		Size BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS SsmsKey(
		TreeId BIGINT NOT NULL,
		KeyId VARBINARY(255) NOT NULL,
		PRIMARY KEY(TreeId, KeyId))`,
	`CREATE TABLE IF NOT EXISTS SsmsKeyUse(
		Id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		TreeId BIGINT NOT NULL,
		KeyId VARBINARY(255) NOT NULL,
		At BIGINT NOT NULL,
		KEY(TreeId, KeyId, At))`,
}

// bindTree creates the tables and records which log key serves tree, or
// checks that it is the one recorded: a tree is served under one key, and
// a front end started with another key (or another tree ID) is refused.
func bindTree(ctx context.Context, db *sql.DB, tree int64, origin, vkey string) error {
	for _, q := range schema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the log's tables: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT IGNORE INTO SsmsLog(TreeId, Origin, VKey) VALUES (?, ?, ?)`, tree, origin, vkey); err != nil {
		return err
	}
	var gotVKey string
	if err := db.QueryRowContext(ctx, `SELECT VKey FROM SsmsLog WHERE TreeId = ?`, tree).Scan(&gotVKey); err != nil {
		return err
	}
	if gotVKey != vkey {
		return fmt.Errorf("tree %d is the log %s; this front end has the key of %s", tree, gotVKey, vkey)
	}
	return nil
}

// latestCheckpoint returns the newest stored checkpoint note, or nil.
func latestCheckpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tree int64, forUpdate bool) ([]byte, error) {
	query := `SELECT Note FROM SsmsCheckpoint WHERE TreeId = ? ORDER BY Size DESC LIMIT 1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var note []byte
	err := q.QueryRowContext(ctx, query, tree).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return note, err
}

// importing returns the size of the log being imported into tree, or 0.
func importing(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tree int64) (int64, error) {
	var size int64
	err := q.QueryRowContext(ctx, `SELECT Size FROM SsmsImport WHERE TreeId = ?`, tree).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return size, err
}

// errImporting refuses to serve or sign a tree an import is filling.
var errImporting = errors.New("ssms log migrate is moving a log onto this tree and has not finished: run it again to the end before starting front ends")

// entriesLevel is the level of entry bundles in SsmsTile.
const entriesLevel = -1

// readTileRow returns the widest stored tile (level, n) and its width.
func readTileRow(ctx context.Context, db *sql.DB, tree, level, n int64) (int, []byte, error) {
	var w int
	var data []byte
	err := db.QueryRowContext(ctx, `SELECT Width, Data FROM SsmsTile WHERE TreeId = ? AND Level = ? AND N = ?`, tree, level, n).Scan(&w, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return w, data, err
}

// writeTileRow stores a tile unless a wider one is stored already.
func writeTileRow(ctx context.Context, tx *sql.Tx, tree, level, n int64, w int, data []byte) error {
	// Data before Width: MySQL assigns left to right, and the IF reads the
	// old Width.
	_, err := tx.ExecContext(ctx, `INSERT INTO SsmsTile(TreeId, Level, N, Width, Data) VALUES (?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE Data = IF(VALUES(Width) > Width, VALUES(Data), Data), Width = GREATEST(Width, VALUES(Width))`,
		tree, level, n, w, data)
	return err
}
