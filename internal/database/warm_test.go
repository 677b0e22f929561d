package database_test

import (
	"context"
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
	if err := db.Warm(ctx, 4); err != nil {
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

// TestWarmSQLite: the embedded database has nothing to warm.
func TestWarmSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Warm(ctx, 4); err != nil {
		t.Fatal(err)
	}
}
