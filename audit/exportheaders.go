package audit

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

// jaHeader names the export columns in Japanese (Format.Lang "ja").
var jaHeader = map[string]string{
	"seq": "連番", "at": "日時", "at_utc": "日時 (UTC)", "type": "種別", "job_id": "ジョブID",
	"owner": "所有者", "actor": "操作者", "queue": "キュー", "device": "デバイス", "method": "認証方法",
	"printer": "プリンター", "outcome": "結果", "reason": "理由", "document_name": "文書名",
	"name_hidden": "文書名を秘匿", "format": "形式", "size": "サイズ (バイト)", "sha256": "SHA-256",
	"pages": "ページ数", "pages_known": "ページ数判明", "pages_reason": "ページ数不明の理由", "copies": "部数",
	"sides": "片面/両面", "color_mode": "カラー", "color_mode_requested": "指定カラーモード", "media": "用紙",
	"has_job_pin": "ジョブPINあり", "claimed_user": "申告ユーザー", "client_addr": "送信元アドレス",
	"submitted": "送信日時", "submitted_utc": "送信日時 (UTC)", "details": "詳細", "prev_hash": "前のハッシュ",
	"hash": "ハッシュ", "impressions": "印刷面数", "sheets": "用紙枚数", "released": "リリース日時",
	"completed": "完了日時", "expired": "期限切れ日時", "deleted": "削除日時",
	"printer_impressions": "印刷ページ数（プリンター）", "printer_sheets": "用紙枚数（プリンター）",
	"source": "経路", "event_seq": "イベント連番",
}

// headerNames returns the column names of the CSV header in lang, or nil
// for the names as they are.
func headerNames(lang string) (map[string]string, error) {
	switch strings.ToLower(lang) {
	case "", "en":
		return nil, nil
	case "ja":
		return jaHeader, nil
	}
	return nil, fmt.Errorf("audit: unknown export language %q (want en or ja)", lang)
}

// toShiftJIS returns s with each character e cannot encode replaced by
// "?", and how many it replaced. A spreadsheet cell holds no numeric
// character reference, so "&#134071;" would be read as text that was
// never in the name.
func toShiftJIS(e *encoding.Encoder, s string) (string, int64) {
	if _, err := e.String(s); err == nil {
		return s, 0
	}
	var (
		b strings.Builder
		n int64
	)
	for _, r := range s {
		if r >= utf8.RuneSelf {
			if _, err := e.String(string(r)); err != nil {
				b.WriteByte('?')
				n++
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String(), n
}
