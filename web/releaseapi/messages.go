package releaseapi

import (
	"github.com/printgate/printgate/internal/i18n"
	"github.com/printgate/printgate/release"
)

// Error codes: the API's stable, machine-readable "error" values.
// openapi.json lists them; a panel app may act on them, so they are never
// renamed.
const (
	codeInternal           = "internal"
	codeThrottled          = "throttled"
	codeLocked             = "locked"
	codeNeedsTLS           = "needs-tls"
	codeForbidden          = "forbidden"
	codeUnknownCard        = "unknown-card"
	codeNotRecognised      = "not-recognised"
	codeNotFound           = "not-found"
	codeBadLogin           = "bad-login"
	codeNotPossible        = "not-possible"
	codeBusy               = "busy"
	codeUnavailable        = "unavailable"
	codePrinterUnavailable = "printer-unavailable"
	codeBadJSON            = "bad-json"
	codeBodyTooLarge       = "body-too-large"
	codeBodyEmpty          = "body-empty"
	codeNoJobs             = "no-jobs-chosen"
	codeBadJobPINs         = "bad-job-pins"
)

// messages are the API's texts, by error code (and the parts of the
// printer-unavailable message), in the words a person at a panel reads.
var messages = i18n.Catalog{
	codeInternal: {En: "Something went wrong. Please try again or ask your administrator.",
		Ja: "問題が発生しました。もう一度お試しいただくか、管理者にお問い合わせください。"},
	codeThrottled: {En: "Too many failed sign-ins: please wait, or ask your administrator.",
		Ja: "サインインの失敗が多すぎます。しばらく待つか、管理者にお問い合わせください。"},
	codeLocked: {En: "Too many wrong PINs: your account is locked for a while. An administrator can unlock it.",
		Ja: "PIN の誤りが多すぎるため、アカウントがしばらくロックされました。管理者がロックを解除できます。"},
	codeNeedsTLS: {En: "PINs and passwords are accepted only over HTTPS: use the https:// address of the server. " +
		"An administrator can allow plain HTTP for a panel that cannot use HTTPS.",
		Ja: "PIN とパスワードは HTTPS でのみ受け付けます。サーバーの https:// のアドレスをお使いください。" +
			"HTTPS を使えないパネルには、管理者が HTTP を許可できます。"},
	codeForbidden: {En: "This device may not do that: it is disabled or does not allow this sign-in method.",
		Ja: "このデバイスではその操作はできません。デバイスが無効か、このサインイン方法を許可していません。"},
	codeUnknownCard: {En: "This card is not registered yet.",
		Ja: "このカードはまだ登録されていません。"},
	codeNotRecognised: {En: "Not recognised. Check your card or PIN and try again.",
		Ja: "認証できませんでした。カードまたは PIN を確かめて、もう一度お試しください。"},
	codeNotFound: {En: "There is no such job.",
		Ja: "そのジョブはありません。"},
	codeBadLogin: {En: "Sign in with a card, with your ID and PIN, or with a card and PIN.",
		Ja: "カード、ID と PIN、またはカードと PIN でサインインしてください。"},
	codeNotPossible: {En: "The job can no longer be changed: it is printing or done.",
		Ja: "このジョブは印刷中か完了済みのため、変更できません。"},
	codeBusy: {En: "The server is busy. Please try again in a moment.",
		Ja: "サーバーが混み合っています。少し待ってからもう一度お試しください。"},
	codeUnavailable: {En: "The service is unavailable. Please try again shortly.",
		Ja: "ただいまサービスを利用できません。しばらくしてからもう一度お試しください。"},
	codeBadJSON: {En: "The request body must be JSON as the API describes.",
		Ja: "リクエストの本文は API の説明どおりの JSON にしてください。"},
	codeBodyTooLarge: {En: "The request body is too large.",
		Ja: "リクエストの本文が大きすぎます。"},
	codeBodyEmpty: {En: "The request body is empty.",
		Ja: "リクエストの本文が空です。"},
	codeNoJobs: {En: "Choose at least one job, or all.",
		Ja: "ジョブを 1 つ以上、またはすべてを選んでください。"},
	codeBadJobPINs: {En: "job_pins keys must be job ids.",
		Ja: "job_pins のキーはジョブ ID にしてください。"},

	"printer.cannot":        {En: "The printer cannot print now", Ja: "プリンターは今は印刷できません"},
	"printer.unreachable":   {En: "The printer cannot print now: it cannot be reached", Ja: "プリンターに接続できないため、今は印刷できません"},
	"printer.stopped":       {En: "The printer cannot print now: it is stopped", Ja: "プリンターが停止しているため、今は印刷できません"},
	"printer.not-accepting": {En: "The printer cannot print now: it is not accepting jobs", Ja: "プリンターがジョブを受け付けていないため、今は印刷できません"},
	"printer.kept": {En: ". Your jobs are kept: try again when it is ready, or release them at another printer.",
		Ja: "。ジョブは保持されています。準備ができてからもう一度お試しいただくか、別のプリンターでリリースしてください。"},
}

// stateMessages say, for a Japanese reader, where a job is: a job's own
// message (release.Job.Message) is written in English for the log and
// the English API, and its state_reason stays beside this for machines.
var stateMessages = map[release.State]string{
	release.StateIncoming:  "文書の受信を待っています。",
	release.StateHeld:      "保留中です。リリースすると印刷されます。",
	release.StateReleasing: "プリンターへ送っています。",
	release.StatePrinting:  "印刷中です。",
	release.StateCompleted: "印刷が終わりました。",
	release.StateCanceled:  "削除されました。",
	release.StateExpired:   "リリースされないまま期限が切れ、削除されました。",
	release.StateAborted:   "印刷できませんでした。プリンターの状態を確かめてください。",
}

// jobMessage is j's message in lang: its own in English, its state's
// words in Japanese.
func jobMessage(lang i18n.Lang, j release.Job) string {
	if lang != i18n.Ja || j.Message == "" {
		return j.Message
	}
	if m, ok := stateMessages[j.State]; ok {
		return m
	}
	return "状態: " + string(j.State)
}
