package releaseapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/web/releaseapi"
)

// apiFixture is the release API over a real release.Service on SQLite,
// with the user bob (PIN 4821, card 04A1B2C3) and one device.
type apiFixture struct {
	engine  *gin.Engine
	token   string
	session string
	svc     *release.Service
	db      *database.DB
	dirs    *directory.Builtin
}

func newFixture(tb testing.TB) *apiFixture {
	tb.Helper()
	return newFixtureAt(tb, "socket://127.0.0.1:9")
}

// newFixtureAt is newFixture with the device's printer at printer.
func newFixtureAt(tb testing.TB, printer string) *apiFixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := database.Open(ctx, "", dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, m := range []func(context.Context, *database.DB) error{release.Migrate, directory.Migrate, credential.Migrate, audit.Migrate} {
		if err := m(ctx, db); err != nil {
			tb.Fatal(err)
		}
	}
	cheap := secret.Params{Memory: 64, Time: 1, Threads: 1}
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32), cheap, nil)
	if err != nil {
		tb.Fatal(err)
	}
	dirs := directory.NewBuiltin(db, hasher)
	if err := dirs.AddUser(ctx, directory.User{Name: "bob", Role: directory.RoleUser}, "bob-secret", nil); err != nil {
		tb.Fatal(err)
	}
	creds, err := credential.New(db, bytes.Repeat([]byte{7}, 32), credential.DefaultPolicy(), cheap,
		credential.Options{Hasher: hasher})
	if err != nil {
		tb.Fatal(err)
	}
	if err := creds.SetPIN(ctx, "bob", "4821", nil); err != nil {
		tb.Fatal(err)
	}
	if err := creds.AddCard(ctx, "bob", "04A1B2C3", nil); err != nil {
		tb.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sp.Close() })
	svc, err := release.New(release.Options{
		DB: db, Spool: sp, Directory: dirs, Credentials: creds,
		Audit:  audit.New(db, audit.Options{Key: bytes.Repeat([]byte{9}, 32)}),
		Queues: []release.Queue{{Name: "secure", Mode: release.Hold, Formats: []string{"application/pdf"}, MaxSize: 1 << 20}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	_, token, err := svc.Admin().AddDevice(ctx, release.DeviceSpec{Name: "mfp", Printer: printer,
		Queues: []string{"secure"}, Methods: []string{"card", "id+pin", "card+pin"}}, "test")
	if err != nil {
		tb.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	f := &apiFixture{engine: gin.New(), token: token, svc: svc, db: db, dirs: dirs}
	releaseapi.New(svc.DeviceRelease(), nil).Register(f.engine)
	code, body := f.do(http.MethodPost, "/api/v1/release/sessions", []byte(`{"card":"04A1B2C3"}`))
	if code != http.StatusCreated {
		tb.Fatalf("login: %d %s", code, body)
	}
	var s struct{ Session string }
	json.Unmarshal(body, &s)
	f.session = s.Session
	return f
}

func (f *apiFixture) do(method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.engine.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// FuzzReleaseAPI sends arbitrary JSON to the API's two bodies, sign-in
// and release: every answer must be a JSON reply with a status from the
// contract, never a panic or a 500.
func FuzzReleaseAPI(f *testing.F) {
	for _, s := range []string{`{"card":"04A1B2C3"}`, `{"user":"bob","pin":"4821"}`, `{"card":"04:a1","pin":"1"}`,
		`{"card":"x","user":"bob","password":"bob-secret"}`, `{"jobs":[1,2]}`, `{"all":true}`,
		`{"jobs":[1],"job_pins":{"1":"1234"}}`, `{"jobs":[-1]}`, `[]`, `{"card":null}`, `{}`} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	fx := newFixture(f)
	allowed := map[int]bool{200: true, 201: true, 202: true, 400: true, 401: true, 403: true, 404: true, 409: true, 423: true}
	f.Fuzz(func(t *testing.T, release bool, body []byte) {
		path := "/api/v1/release/sessions"
		if release {
			path += "/" + fx.session + "/release"
		}
		code, reply := fx.do(http.MethodPost, path, body)
		if !allowed[code] {
			t.Fatalf("POST %s %q: HTTP %d %s", path, body, code, reply)
		}
		if !json.Valid(reply) {
			t.Fatalf("POST %s %q: reply is not JSON: %s", path, body, reply)
		}
	})
}
