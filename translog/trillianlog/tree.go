package trillianlog

import (
	"context"
	"fmt"
	"time"

	"github.com/google/trillian"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
)

// CreateTree creates and initialises a Trillian PREORDERED_LOG tree
// through the admin API of the log server at addr, as Trillian's createtree
// does, and returns its ID. The log sequences entries itself (its
// checkpointer gives each its index and hands the leaves to Trillian in
// batches), so the tree is preordered; Trillian signs no root of its own
// accord (the log's checkpoints are signed by the checkpointer): the
// tree's maximum root duration is 0.
func CreateTree(ctx context.Context, addr, name string) (int64, error) {
	return createTree(ctx, addr, name, trillian.TreeType_PREORDERED_LOG)
}

// checkTree checks that tree is an active PREORDERED_LOG tree.
func checkTree(ctx context.Context, conn *grpc.ClientConn, tree int64) error {
	t, err := trillian.NewTrillianAdminClient(conn).GetTree(ctx, &trillian.GetTreeRequest{TreeId: tree})
	if err != nil {
		return fmt.Errorf("reading tree %d: %w", tree, err)
	}
	if t.TreeType != trillian.TreeType_PREORDERED_LOG {
		return fmt.Errorf("tree %d is a %v tree; the log sequences its entries itself and needs a PREORDERED_LOG tree (createtree --tree_type=PREORDERED_LOG)", tree, t.TreeType)
	}
	if t.TreeState != trillian.TreeState_ACTIVE {
		return fmt.Errorf("tree %d is %v, not ACTIVE", tree, t.TreeState)
	}
	return nil
}

func createTree(ctx context.Context, addr, name string, typ trillian.TreeType) (int64, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	tree, err := trillian.NewTrillianAdminClient(conn).CreateTree(ctx, &trillian.CreateTreeRequest{Tree: &trillian.Tree{
		TreeState: trillian.TreeState_ACTIVE, TreeType: typ, DisplayName: name,
		MaxRootDuration: durationpb.New(0)}})
	if err != nil {
		return 0, fmt.Errorf("creating a tree: %w", err)
	}
	for {
		// A new tree may not be visible to InitLog at once.
		_, err := trillian.NewTrillianLogClient(conn).InitLog(ctx, &trillian.InitLogRequest{LogId: tree.TreeId})
		if err == nil {
			return tree.TreeId, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("initialising tree %d: %w", tree.TreeId, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DeleteTree deletes a tree (Trillian keeps its data until its garbage
// collection runs): its signer stops visiting it.
func DeleteTree(ctx context.Context, addr string, tree int64) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = trillian.NewTrillianAdminClient(conn).DeleteTree(ctx, &trillian.DeleteTreeRequest{TreeId: tree})
	return err
}
