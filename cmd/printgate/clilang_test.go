package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runLocale runs the printgate binary with cfg under the locale env
// (LANG=..., LC_ALL=...) and returns its standard output and error.
func runLocale(t *testing.T, cfg Config, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(printgateBinary(t), append(args, "--config", writeConfig(t, cfg))...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdin = strings.NewReader("another-secret\n")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestCLILocale: the commands an administrator types answer in the
// locale's language: LANG=ja_JP.UTF-8 gives Japanese headers, answers and
// errors; LC_ALL=C over it, or an English LANG, the English ones.
func TestCLILocale(t *testing.T) {
	cfg := newConfig(t, "")
	runCLI(t, cfg, "hanako-secret\n", "user", "add", "hanako", "--display-name", "山田花子")
	runCLI(t, cfg, "4821\n", "user", "set-pin", "hanako")
	ja := []string{"LANG=ja_JP.UTF-8"}
	tests := []struct {
		name    string
		env     []string
		args    []string
		fails   bool
		want    []string
		notWant []string
	}{
		{"list ja", ja, []string{"user", "list"}, false,
			[]string{"ユーザー名", "役割", "表示名", "社員番号", "ロック", "無効", "山田花子", "はい", "いいえ"}, []string{"NAME", "DISPLAY NAME", "yes"}},
		{"list LC_MESSAGES ja", []string{"LANG=en_US.UTF-8", "LC_MESSAGES=ja_JP.UTF-8"}, []string{"user", "list"}, false,
			[]string{"ユーザー名"}, []string{"NAME"}},
		{"list en", []string{"LANG=en_US.UTF-8"}, []string{"user", "list"}, false,
			[]string{"NAME", "DISPLAY NAME", "yes"}, []string{"ユーザー名"}},
		{"list LC_ALL=C over ja", []string{"LANG=ja_JP.UTF-8", "LC_ALL=C"}, []string{"user", "list"}, false,
			[]string{"NAME"}, []string{"ユーザー名"}},
		{"unlock ja", ja, []string{"user", "unlock", "hanako"}, false, []string{"hanako のロックを解除しました"}, nil},
		{"unlock unknown ja", ja, []string{"user", "unlock", "ghost"}, true,
			[]string{"printgate: そのユーザーには解除するロックがありません。"}, []string{"credential:"}},
		{"unlock unknown en", nil, []string{"user", "unlock", "ghost"}, true, []string{"printgate: credential:"}, nil},
		{"add existing ja", ja, []string{"user", "add", "hanako"}, true, []string{"printgate: そのユーザーはすでにいます。"}, nil},
		{"device list ja", ja, []string{"device", "list"}, false, []string{"デバイス  プリンター  キュー"}, []string{"PRINTER"}},
		{"device unknown ja", ja, []string{"device", "disable", "ghost"}, true, []string{"printgate: 見つかりません"}, nil},
		{"verify ja", ja, []string{"audit", "verify"}, false, []string{"件のイベントを検証しました", "最後のハッシュ"}, []string{"%!"}},
		{"verify en", nil, []string{"audit", "verify"}, false, []string{"events verified", "events/s)", "last hash"}, []string{"%!"}},
		{"lookup unknown code ja", ja, []string{"audit", "lookup", "ABCD2345EFGH"}, true, []string{"この検証コードのジョブはありません"}, []string{"no job carries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runLocale(t, cfg, tt.env, tt.args...)
			if (err != nil) != tt.fails {
				t.Fatalf("err %v, want failure %v\n%s%s", err, tt.fails, out, errOut)
			}
			all := out + errOut
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
		})
	}
}
