package i18n

import "testing"

func TestFromAcceptLanguage(t *testing.T) {
	tests := []struct {
		header string
		def    Lang
		want   Lang
	}{
		{"ja", En, Ja},
		{"ja-JP,ja;q=0.9,en;q=0.5", En, Ja},
		{"en-US,en;q=0.9", Ja, En},
		{"en;q=0.2, ja;q=0.8", En, Ja},
		{"", Ja, Ja},
		{"", En, En},
		{"fr-FR", Ja, Ja},
		{";;;garbage===", En, En},
	}
	for _, tt := range tests {
		if got := FromAcceptLanguage(tt.header, tt.def); got != tt.want {
			t.Errorf("FromAcceptLanguage(%q, %s) = %s, want %s", tt.header, tt.def, got, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want Lang
	}{
		{map[string]string{"LANG": "ja_JP.UTF-8"}, Ja},
		{map[string]string{"LANG": "en_US.UTF-8"}, En},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, Ja},
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, En},
		{map[string]string{"LC_ALL": "ja_JP.eucJP"}, Ja},
		{map[string]string{}, En},
	}
	for _, tt := range tests {
		if got := FromEnv(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("FromEnv(%v) = %s, want %s", tt.env, got, tt.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	c := Catalog{"hello": {En: "Hello, %[1]s", Ja: "%[1]s さん、こんにちは"}}
	if got := c.T(Ja, "hello", "山田"); got != "山田 さん、こんにちは" {
		t.Errorf("ja: %q", got)
	}
	if got := c.T(En, "hello", "Yamada"); got != "Hello, Yamada" {
		t.Errorf("en: %q", got)
	}
	if got := c.T(Ja, "missing"); got != "missing" {
		t.Errorf("missing key: %q", got)
	}
}

func FuzzFromAcceptLanguage(f *testing.F) {
	f.Add("ja-JP,ja;q=0.9,en;q=0.5")
	f.Add("*;q=0")
	f.Fuzz(func(t *testing.T, header string) {
		if got := FromAcceptLanguage(header, En); got != En && got != Ja {
			t.Fatalf("FromAcceptLanguage(%q) = %q", header, got)
		}
	})
}
