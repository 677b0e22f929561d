package qrlink

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestCheck(t *testing.T) {
	s, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a := Binding{Device: "mfp-2f", ID: 1, Generation: "g1"}
	tok := s.Sign(a, now.Add(5*time.Minute))
	other, err := New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		b     Binding
		token string
		at    time.Time
		want  error
	}{
		{"fresh", a, tok, now, nil},
		{"a second before expiry", a, tok, now.Add(5*time.Minute - time.Second), nil},
		{"at expiry", a, tok, now.Add(5 * time.Minute), ErrExpired},
		{"another device", Binding{Device: "mfp-3f", ID: 1, Generation: "g1"}, tok, now, ErrInvalid},
		{"device re-added", Binding{Device: "mfp-2f", ID: 2, Generation: "g1"}, tok, now, ErrInvalid},
		{"token rotated", Binding{Device: "mfp-2f", ID: 1, Generation: "g2"}, tok, now, ErrInvalid},
		{"expiry moved", a, strings.Replace(tok, "v1.1", "v1.2", 1), now, ErrInvalid},
		{"another key", a, other.Sign(a, now.Add(time.Minute)), now, ErrInvalid},
		{"empty", a, "", now, ErrInvalid},
		{"no mac", a, "v1.1790000000.", now, ErrInvalid},
		{"signed expiry", a, "v1.-5.abc", now, ErrInvalid},
		{"huge", a, "v1." + strings.Repeat("9", 200) + ".x", now, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Check(tt.b, tt.token, tt.at)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check = %v; want %v", err, tt.want)
			}
		})
	}
}

// TestBindingsDiffer: fields that run into each other must not sign
// alike ("ab"+"c" against "a"+"bc").
func TestBindingsDiffer(t *testing.T) {
	s, _ := New(testKey)
	exp := time.Unix(1_800_000_000, 0)
	if s.Sign(Binding{Device: "ab", Generation: "c"}, exp) == s.Sign(Binding{Device: "a", Generation: "bc"}, exp) {
		t.Fatal("two bindings sign alike")
	}
}

func TestShortKey(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

// FuzzCheck: any token is either accepted as the one signed or refused,
// never a panic.
func FuzzCheck(f *testing.F) {
	s, _ := New(testKey)
	b := Binding{Device: "mfp", ID: 7, Generation: "g"}
	good := s.Sign(b, time.Unix(1_800_000_000, 0))
	for _, seed := range []string{good, "", "v1.", "v1.1.", "v1..x", "v2.1.x", "v1.99999999999999999999.x"} {
		f.Add(seed)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, token string) {
		_, err := s.Check(b, token, now)
		if err == nil && token != good {
			t.Fatalf("token %q accepted", token)
		}
	})
}
