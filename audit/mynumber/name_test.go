package mynumber

import "testing"

func TestMaskName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"個人番号 1234 5678 9018", "個人番号 **** **** ****"},
		{"mynumber-123456789018.pdf", "mynumber-************.pdf"},
		{"１２３４－５６７８－９０１８の控え", "****－****－****の控え"},
		{"2024-04 扶養 1 2 3 4 - 5 6 7 8 - 9 0 1 8", "****-** 扶養 * * * * - * * * * - * * * *"},
		{"invoice 2024-001.pdf", "invoice 2024-001.pdf"},
		{"wrong check digit 123456789019.pdf", "wrong check digit 123456789019.pdf"},
		{"card 4111 1234 5678 9018", "card 4111 1234 5678 9018"},
		{"", ""},
	} {
		if got := MaskName(tc.name); got != tc.want {
			t.Errorf("MaskName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
