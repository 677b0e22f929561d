package main

import (
	"errors"
	"fmt"

	"github.com/printgate/printgate/internal/i18n"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// t returns the command line's text for key in the locale's language
// (LC_ALL, LC_MESSAGES, LANG), formatted with args.
func (a *app) t(key string, args ...any) string { return cliText.T(a.lang, key, args...) }

// yesNo says yes or no in the locale's language.
func (a *app) yesNo(b bool) string {
	if b {
		return a.t("yes")
	}
	return a.t("no")
}

// errorText is how a failed command's error reads: in English as it was
// wrapped; in Japanese, the words for what went wrong, with the English
// detail after them for an error printgate has no words for.
func (a *app) errorText(err error) string {
	if a.lang != i18n.Ja {
		return err.Error()
	}
	for _, e := range cliErrors {
		if errors.Is(err, e.err) {
			return a.t(e.key)
		}
	}
	return a.t("error.other", err.Error())
}

// cliErrors are the errors an administrator meets most, with their words.
var cliErrors = []struct {
	err error
	key string
}{
	{directory.ErrNotFound, "error.no-user"},
	{credential.ErrNotFound, "error.nothing-to-unlock"},
	{release.ErrNotFound, "error.not-found"},
	{directory.ErrExists, "error.user-exists"},
	{errChainBroken, "error.chain-broken"},
	{errNoSuchCode, "error.no-such-code"},
	{errNoDataDir, "error.no-data-dir"},
}

// cliText is the command line's catalog. The English texts are what the
// commands always printed; scripts may read them.
var cliText = i18n.Catalog{
	"yes": {En: "yes", Ja: "はい"},
	"no":  {En: "no", Ja: "いいえ"},

	"user.added":    {En: "user %[1]s added with role %[2]s\n", Ja: "ユーザー %[1]s を追加しました（役割: %[2]s）\n"},
	"user.pin-set":  {En: "PIN set for %[1]s\n", Ja: "%[1]s の PIN を設定しました\n"},
	"user.unlocked": {En: "%[1]s unlocked\n", Ja: "%[1]s のロックを解除しました\n"},
	"user.header": {En: "NAME\tROLE\tDISPLAY NAME\tEMPLOYEE\tPIN\tLOCKED\tDISABLED",
		Ja: "ユーザー名\t役割\t表示名\t社員番号\tPIN\tロック\t無効"},

	"device.added": {En: "device %[1]s added (printer %[2]s, queues %[3]s, sign-in %[4]s, card reader %[5]s)\ntoken: %[6]s\n" +
		"Keep the token in the device's settings; it is not shown again.\n",
		Ja: "デバイス %[1]s を登録しました（プリンター %[2]s、キュー %[3]s、サインイン %[4]s、カードリーダー %[5]s）\ntoken: %[6]s\n" +
			"このトークンをデバイスの設定に保存してください。再表示はできません。\n"},
	"device.header": {En: "NAME\tPRINTER\tQUEUES\tSIGN-IN\tCARD READER\tSELF-ENROL\tPLAIN-HTTP\tENABLED\tTHROTTLED UNTIL",
		Ja: "デバイス\tプリンター\tキュー\tサインイン\tカードリーダー\tカード自己登録\tHTTP 許可\t有効\t一時停止の終了"},
	"device.enabled":       {En: "device %[1]s enabled\n", Ja: "デバイス %[1]s を有効にしました\n"},
	"device.disabled":      {En: "device %[1]s disabled\n", Ja: "デバイス %[1]s を無効にしました\n"},
	"device.token":         {En: "new token for %[1]s: %[2]s\n", Ja: "%[1]s の新しいトークン: %[2]s\n"},
	"device.cleared":       {En: "device %[1]s cleared: its failed sign-ins are forgotten\n", Ja: "デバイス %[1]s のサインイン失敗の記録を消去しました\n"},
	"device.unchanged":     {En: "device %[1]s had no failed sign-ins counted\n", Ja: "デバイス %[1]s にはサインイン失敗の記録がありません\n"},
	"device.removed":       {En: "device %[1]s removed\n", Ja: "デバイス %[1]s を削除しました\n"},
	"device.reader":        {En: "device %[1]s reads cards as %[2]s\n", Ja: "デバイス %[1]s はカードを %[2]s として読み取ります\n"},
	"device.card_required": {En: "device %[1]s card required: %[2]s\n", Ja: "デバイス %[1]s のカード必須: %[2]s\n"},
	"device.methods":       {En: "device %[1]s sign-in: %[2]s\n", Ja: "デバイス %[1]s のサインイン: %[2]s\n"},

	"printer.added":  {En: "printer %[1]s monitored (%[2]s, %[3]s)\n", Ja: "プリンター %[1]s を監視します（%[2]s、%[3]s）\n"},
	"printer.snmp":   {En: "SNMP counter at %[1]s", Ja: "SNMP カウンター %[1]s"},
	"printer.snmpv3": {En: "SNMPv3 counter at %[1]s as %[2]s", Ja: "SNMPv3 カウンター %[1]s（ユーザー %[2]s）"},
	"printer.nosnmp": {En: "no SNMP counter", Ja: "SNMP カウンターなし"},
	"printer.header": {En: "NAME\tURI\tSOURCE\tSNMP\tSTATE\tLAST POLL\tLAST ERROR",
		Ja: "プリンター\tURI\t登録元\tSNMP\t状態\t最終確認\t最後のエラー"},
	"printer.removed": {En: "printer %[1]s no longer monitored\n", Ja: "プリンター %[1]s の監視をやめました\n"},

	"verify.ok": {En: "OK: %[1]d events verified, sequences %[2]d-%[3]d, in %[4]s (%.0[5]f events/s)\n",
		Ja: "OK: %[1]d 件のイベントを検証しました（シーケンス %[2]d〜%[3]d、%[4]s、毎秒 %.0[5]f 件）\n"},
	"verify.jobs":    {En: "%[1]d job records match their events\n", Ja: "%[1]d 件のジョブ記録がイベントと一致します\n"},
	"verify.anchors": {En: "%[1]d anchors of %[2]s hold (%[3]d older than the kept events)\n", Ja: "%[2]s の %[1]d 件のアンカーが一致します（うち %[3]d 件は保存期間外のイベントのもの）\n"},
	"verify.hash":    {En: "last hash %[1]x\n", Ja: "最後のハッシュ %[1]x\n"},

	"serve.database": {En: "printgate: database %[1]s (id %[2]s)\n", Ja: "printgate: データベース %[1]s（ID %[2]s）\n"},
	"serve.metrics":  {En: "printgate: metrics at http://%[1]s/metrics (health: /healthz, /readyz)\n", Ja: "printgate: メトリクス http://%[1]s/metrics（ヘルスチェック: /healthz, /readyz）\n"},
	"serve.data":     {En: "printgate: data in %[1]s\n", Ja: "printgate: データの場所 %[1]s\n"},
	"serve.print":    {En: "printgate: print to %[1]s (%[2]s queue)\n", Ja: "printgate: 印刷先 %[1]s（%[2]s キュー）\n"},
	"serve.signin":   {En: "printgate: sign in at %[1]s/signin (release kiosk: /kiosk)\n", Ja: "printgate: サインイン %[1]s/signin（リリース用キオスク: /kiosk）\n"},
	"serve.no-admin": {En: "printgate: no administrator yet; create one with: printgate user add NAME --role admin\n",
		Ja: "printgate: 管理者がまだいません。次のコマンドで作成してください: printgate user add NAME --role admin\n"},
	"serve.no-command": {En: "printgate: (no printgate command yet? in the source tree: " +
		"go build -tags nomsgpack -o printgate ./cmd/printgate, then ./printgate user add ...; " +
		"or go install -tags nomsgpack github.com/printgate/printgate/cmd/printgate@latest, into $(go env GOPATH)/bin)\n",
		Ja: "printgate: （printgate コマンドがまだない場合は、ソースツリーで " +
			"go build -tags nomsgpack -o printgate ./cmd/printgate を実行して ./printgate user add ... とするか、" +
			"go install -tags nomsgpack github.com/printgate/printgate/cmd/printgate@latest で $(go env GOPATH)/bin に入れてください）\n"},

	"error.no-user":           {En: "no such user", Ja: "そのユーザーはいません。"},
	"error.nothing-to-unlock": {En: "nothing to unlock", Ja: "そのユーザーには解除するロックがありません。"},
	"error.not-found":         {En: "not found", Ja: "見つかりません。名前を確かめてください。"},
	"error.user-exists":       {En: "the user exists", Ja: "そのユーザーはすでにいます。"},
	"error.no-data-dir": {En: "no --config or --data given, and no data dir here",
		Ja: "--config も --data も指定されておらず、ここにデータフォルダ（./var）がありません。--config /etc/printgate/printgate.yaml を付けて実行してください。"},
	"error.chain-broken": {En: "the audit chain does not verify", Ja: "監査チェーンの検証に失敗しました（上の BROKEN の行をご覧ください）。"},
	"error.no-such-code": {En: "no job carries this verification code", Ja: "この検証コードのジョブはありません。"},
	"error.other":        {En: "%[1]s", Ja: "エラー: %[1]s"},
}

// printf writes key's text to the command's output.
func (a *app) printf(key string, args ...any) error {
	_, err := fmt.Fprint(a.stdout, a.t(key, args...))
	return err
}
