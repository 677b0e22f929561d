package release

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestQRNeedsDeviceMethod: QR release at a device works only where the
// device's methods name qr. At one that asks for two factors (card+pin
// only) the kiosk gets no code, no label is issued (nor recorded), a
// genuine link is refused, and neither the list nor the release of a
// phone's session goes through, the job staying held; at one that
// allows qr each of them works. Taking qr away from a device refuses the
// links it gave out before.
func TestQRNeedsDeviceMethod(t *testing.T) {
	db := openSQLite(t)
	svc, log := startService(t, db, Options{QRKey: bytes.Repeat([]byte{5}, 32),
		Queues: []Queue{{Name: "secure", Mode: Hold}}})
	sessionDirectory(t, svc, db)
	ctx := t.Context()
	job := Job{Queue: "secure", Owner: "hanako", Name: "payslip", State: StateHeld, Spool: "doc-payslip",
		CreatedAt: svc.now(), UpdatedAt: svc.now()}
	if err := db.Create(&job).Error; err != nil {
		t.Fatal(err)
	}
	labels := func() int {
		n := 0
		for _, err := range log.Events(ctx, audit.Filter{Type: audit.EventQRLabelIssued}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	remote := svc.RemoteRelease()
	for _, tc := range []struct {
		name    string
		methods []string
		allowed bool
	}{
		{"lobby", []string{MethodCard, MethodIDPIN, MethodQR}, true},
		{"phones-only", []string{MethodQR}, true},
		{"payroll", []string{MethodCardPIN}, false},
		{"card-only", []string{MethodCard, MethodIDPIN}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, token, err := svc.Admin().AddDevice(ctx, DeviceSpec{Name: tc.name, Printer: "ipp://127.0.0.1:1/ipp/print",
				Queues: []string{"secure"}, Methods: tc.methods}, "admin")
			if err != nil {
				t.Fatal(err)
			}
			refused := func(what string, err error) {
				t.Helper()
				switch {
				case tc.allowed && err != nil:
					t.Errorf("%s at %s: %v, want it to work", what, tc.methods, err)
				case !tc.allowed && (!errors.Is(err, ErrQRNotAllowed) || !errors.Is(err, ErrForbidden)):
					t.Errorf("%s at %s: %v, want ErrQRNotAllowed (ErrForbidden)", what, tc.methods, err)
				}
			}

			got, link, err := svc.DeviceRelease().KioskQR(ctx, token)
			refused("KioskQR", err)
			if got.Name != tc.name {
				t.Errorf("KioskQR: device %q, want %q", got.Name, tc.name)
			}
			if !tc.allowed && (!errors.Is(err, ErrNoQR) || link.Path != "") {
				t.Errorf("KioskQR of a device without qr: link %q, %v; want none and ErrNoQR, the kiosk's no code", link.Path, err)
			}

			before := labels()
			label, err := remote.QRLink(ctx, tc.name, DefaultQRLabelLifetime, "admin")
			refused("QRLink", err)
			if issued := labels() - before; (issued == 1) != tc.allowed {
				t.Errorf("QRLink recorded %d labels, want a record only of a label issued", issued)
			}
			if !tc.allowed && label.Path != "" {
				t.Errorf("QRLink of a device without qr returned %q", label.Path)
			}

			// A genuine link to the device, however it was made (a label
			// of before, a kiosk's code of a minute ago).
			signed, err := remote.link(dev, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.LinkDevice(ctx, tc.name, signed.Path[len(QRPath(tc.name, "")):])
			refused("LinkDevice", err)

			jobs, err := remote.Jobs(ctx, "hanako", MethodQR, dev)
			refused("Jobs", err)
			if listed := slices.ContainsFunc(jobs, func(j Job) bool { return j.ID == job.ID }); listed != tc.allowed {
				t.Errorf("Jobs by qr at %s lists hanako's job: %v", tc.methods, listed)
			}
			if !tc.allowed {
				_, err = remote.Release(ctx, "hanako", MethodQR, dev, ReleaseRequest{IDs: []int64{job.ID}})
				refused("Release", err)
				var state State
				db.Raw(`SELECT state FROM jobs WHERE id = ?`, job.ID).Scan(&state)
				if state != StateHeld {
					t.Errorf("job %d is %s after a refused QR release, want held", job.ID, state)
				}
			}
		})
	}

	// An administrator takes qr away from lobby: its label stops working,
	// and works again when qr is given back.
	label, err := remote.QRLink(ctx, "lobby", DefaultQRLabelLifetime, "admin")
	if err != nil {
		t.Fatal(err)
	}
	token := label.Path[len(QRPath("lobby", "")):]
	if err := svc.Admin().SetDeviceMethods(ctx, "lobby", []string{MethodCardPIN}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.LinkDevice(ctx, "lobby", token); !errors.Is(err, ErrQRNotAllowed) {
		t.Errorf("a label after qr was taken away: %v, want ErrQRNotAllowed", err)
	}
	if err := svc.Admin().SetDeviceMethods(ctx, "lobby", []string{MethodCardPIN, MethodQR}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.LinkDevice(ctx, "lobby", token); err != nil {
		t.Errorf("a label after qr was given back: %v", err)
	}
}

// TestDeviceMethods: a device allows card, card+pin, id+pin and qr, in
// any mix of at least one, qr alone included (a panel that only shows
// its code); anything else is refused when added and when changed, and a
// refused change leaves the methods as they were.
func TestDeviceMethods(t *testing.T) {
	db := openSQLite(t)
	svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "secure", Mode: Hold}}})
	ctx := t.Context()
	if _, _, err := svc.Admin().AddDevice(ctx, DeviceSpec{Name: "mfp", Printer: "ipp://127.0.0.1:1/ipp/print",
		Queues: []string{"secure"}, Methods: []string{MethodCard}}, "admin"); err != nil {
		t.Fatal(err)
	}
	want := MethodCard
	for i, tc := range []struct {
		methods []string
		ok      bool
	}{
		{[]string{MethodQR}, true},
		{[]string{MethodCardPIN, MethodQR}, true},
		{[]string{MethodCard, MethodIDPIN, MethodCardPIN, MethodQR}, true},
		{nil, false},
		{[]string{MethodWeb}, false},
		{[]string{MethodCard, "QR"}, false},
		{[]string{"phone"}, false},
	} {
		t.Run(fmt.Sprint(tc.methods), func(t *testing.T) {
			_, _, err := svc.Admin().AddDevice(ctx, DeviceSpec{Name: fmt.Sprintf("dev%d", i), Printer: "ipp://127.0.0.1:1/ipp/print",
				Queues: []string{"secure"}, Methods: tc.methods}, "admin")
			if (err == nil) != tc.ok {
				t.Errorf("AddDevice: %v, want ok %v", err, tc.ok)
			}
			err = svc.Admin().SetDeviceMethods(ctx, "mfp", tc.methods, "admin")
			if (err == nil) != tc.ok {
				t.Errorf("SetDeviceMethods: %v, want ok %v", err, tc.ok)
			}
			if tc.ok {
				want = strings.Join(tc.methods, ",")
			}
			var got string
			db.Raw(`SELECT methods FROM devices WHERE name = 'mfp'`).Scan(&got)
			if got != want {
				t.Errorf("mfp's methods %q, want %q", got, want)
			}
		})
	}
	if err := svc.Admin().SetDeviceMethods(ctx, "nosuch", []string{MethodQR}, "admin"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetDeviceMethods of no device: %v, want ErrNotFound", err)
	}
}

// TestQRMethodMigration: upgrading keeps QR release at each device that
// let one factor sign in at the device itself (a card, or ID and PIN
// without a required card) and takes it from each whose every method is
// two factors, for which it was the way around them; other columns are
// untouched, and on each database.
func TestQRMethodMigration(t *testing.T) {
	testenv.EachDB(t, nil, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		all := migrations()
		i := slices.IndexFunc(all, func(m database.Migration) bool { return m.Name == "devices.methods qr" })
		if i < 0 {
			t.Fatal("no migration adds qr to devices' methods")
		}
		if err := db.Migrate(ctx, "release", all[:i]); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name         string
			methods      string
			cardRequired bool
			want         string
		}{
			{"card", "card", false, "card,qr"},
			{"card-behind-door", "card", true, "card,qr"},
			{"idpin", "id+pin", false, "id+pin,qr"},
			{"idpin-behind-door", "id+pin", true, "id+pin"},
			{"cardpin", "card+pin", false, "card+pin"},
			{"card-and-cardpin", "card,card+pin", false, "card,card+pin,qr"},
			{"two-factor-both", "card+pin,id+pin", true, "card+pin,id+pin"},
			{"every-method", "card,id+pin,card+pin", false, "card,id+pin,card+pin,qr"},
			{"spaced", " id+pin , card+pin", false, "id+pin,card+pin,qr"},
		}
		now := time.Now()
		for _, tc := range tests {
			err := db.Exec(`INSERT INTO devices (name, printer, queues, methods, self_enroll, token_hash, enabled,
				created_at, updated_at, card_required) VALUES (?, 'ipp://mfp/ipp/print', 'secure', ?, TRUE, ?, TRUE, ?, ?, ?)`,
				tc.name, tc.methods, "hash-"+tc.name, now, now, tc.cardRequired).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx, "release", all); err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			var d Device
			if err := db.Where("name = ?", tc.name).Take(&d).Error; err != nil {
				t.Fatal(err)
			}
			if d.Methods != tc.want {
				t.Errorf("%s (%q, card required %v): methods %q after the upgrade, want %q",
					tc.name, tc.methods, tc.cardRequired, d.Methods, tc.want)
			}
			if d.CardRequired != tc.cardRequired || !d.SelfEnroll || !d.Enabled || d.TokenHash != "hash-"+tc.name {
				t.Errorf("%s: other columns changed: %+v", tc.name, d)
			}
		}
	})
}

// TestWebReleaseNeedsOneFactorDevice: a release from My page is one
// factor (the console's sign-in) from anywhere, so a device whose every
// sign-in method is two factors neither is offered on My page nor takes
// such a release, whatever its queues allow; a device that lets one
// factor sign in at it does both.
func TestWebReleaseNeedsOneFactorDevice(t *testing.T) {
	db := openSQLite(t)
	svc, _ := startService(t, db, Options{Queues: []Queue{{Name: "desk", Mode: Hold, ReleaseFromWeb: true}}})
	sessionDirectory(t, svc, db)
	ctx := t.Context()
	remote := svc.RemoteRelease()
	for _, tc := range []struct {
		name         string
		methods      []string
		cardRequired bool
		allowed      bool
	}{
		{"lobby", []string{MethodCard, MethodIDPIN}, false, true},
		{"id-pin", []string{MethodIDPIN}, false, true},
		{"payroll", []string{MethodCardPIN}, false, false},
		{"card-door", []string{MethodIDPIN}, true, false},
		{"phones", []string{MethodQR}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := svc.Admin().AddDevice(ctx, DeviceSpec{Name: tc.name, Printer: "ipp://127.0.0.1:1/ipp/print",
				Queues: []string{"desk"}, Methods: tc.methods, CardRequired: tc.cardRequired}, "admin"); err != nil {
				t.Fatal(err)
			}
			devs, err := remote.WebDevices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if offered := slices.ContainsFunc(devs, func(d Device) bool { return d.Name == tc.name }); offered != tc.allowed {
				t.Errorf("My page offers %s (%v): %v; want %v", tc.name, tc.methods, offered, tc.allowed)
			}
			dev, err := remote.WebDevice(ctx, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Jobs(ctx, "hanako", MethodWeb, dev)
			if tc.allowed != (err == nil) || !tc.allowed && !errors.Is(err, ErrForbidden) {
				t.Errorf("jobs from My page at %s: %v; want allowed %v", tc.name, err, tc.allowed)
			}
		})
	}
}
