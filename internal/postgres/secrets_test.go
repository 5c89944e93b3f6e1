package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/clc-portal/clc/internal/postgres"
	"github.com/clc-portal/clc/internal/postgres/pgtest"
)

// A server secret is made once and read alike by every process.
func TestServerSecretMadeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	one, two := postgres.NewStore(db.Pool), postgres.NewStore(db.Pool)
	first, err := one.ServerSecret(ctx, "device_cookie", 32)
	if err != nil || len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
		t.Fatalf("first secret %x, %v", first, err)
	}
	again, err := two.ServerSecret(ctx, "device_cookie", 32)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second process read %x (%v), want %x", again, err, first)
	}
	other, err := one.ServerSecret(ctx, "something else", 32)
	if err != nil || bytes.Equal(other, first) {
		t.Fatalf("another name's secret %x (%v) is the same", other, err)
	}
}
