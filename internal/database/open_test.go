package database_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// openDB opens the database at url (SQLite in dir when empty), closed
// when t ends, and its pool.
func openDB(t *testing.T, url, dir string) (*database.DB, *sql.DB) {
	t.Helper()
	db, err := database.Open(context.Background(), url, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	return db, sqlDB
}

// pgConn returns a connection of a fresh PostgreSQL database's pool,
// closed when t ends.
func pgConn(t *testing.T) (*sql.DB, *sql.Conn) {
	t.Helper()
	_, sqlDB := openDB(t, testenv.Postgres(t), t.TempDir())
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return sqlDB, conn
}
