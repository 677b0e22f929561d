package database_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestWarmKeepsConnections: on PostgreSQL, Warm opens connections before
// they are needed, and a burst's connections stay open for the next one
// instead of being closed when it ends (database/sql keeps two by
// default), so that no burst waits for backends to start.
func TestWarmKeepsConnections(t *testing.T) {
	ctx := context.Background()
	db, sqlDB := openDB(t, testenv.Postgres(t), t.TempDir())
	if err := db.Warm(ctx, 4, nil); err != nil {
		t.Fatal(err)
	}
	if st := sqlDB.Stats(); st.OpenConnections < 4 || st.Idle < 4 {
		t.Fatalf("after Warm(4): %d open, %d idle; want at least 4 of each", st.OpenConnections, st.Idle)
	}
	const burst = 12
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range burst {
		wg.Go(func() {
			<-start
			if err := db.DB.WithContext(ctx).Exec("SELECT pg_sleep(0.2)").Error; err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	st := sqlDB.Stats()
	if st.OpenConnections < burst || st.Idle != st.OpenConnections || st.MaxIdleClosed != 0 {
		t.Errorf("after a burst of %d: %d open, %d idle, %d closed as surplus idle; want all %d kept open and idle",
			burst, st.OpenConnections, st.Idle, st.MaxIdleClosed, burst)
	}
}

// TestWarmPrimes: Warm hands each connection it opened to prime, each
// one once, and returns prime's failure.
func TestWarmPrimes(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t, testenv.Postgres(t), t.TempDir())
	backends := map[int]int{}
	prime := func(ctx context.Context, c *sql.Conn) error {
		var pid int
		if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return err
		}
		backends[pid]++
		return nil
	}
	if err := db.Warm(ctx, 4, prime); err != nil {
		t.Fatal(err)
	}
	if len(backends) != 4 {
		t.Errorf("prime saw backends %v, want 4 distinct ones", backends)
	}
	for pid, n := range backends {
		if n != 1 {
			t.Errorf("backend %d primed %d times, want once", pid, n)
		}
	}
	refused := errors.New("refused")
	if err := db.Warm(ctx, 4, func(context.Context, *sql.Conn) error { return refused }); !errors.Is(err, refused) {
		t.Errorf("Warm with a failing prime: %v, want its error", err)
	}
}

// TestWarmSQLite: the embedded database has nothing to warm.
func TestWarmSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Warm(ctx, 4, nil); err != nil {
		t.Fatal(err)
	}
}
