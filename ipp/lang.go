package ipp

import (
	"strings"

	"github.com/OpenPrinting/goipp"
)

// Languages of status-message and job-state-message, as
// generated-natural-language-supported lists them.
const (
	langEn = "en"
	langJa = "ja"
)

// replyLanguage is the language a request's attributes-natural-language
// asks its answer in: Japanese for any Japanese tag ("ja", "ja-JP"),
// English otherwise.
func replyLanguage(tag string) string {
	if t := strings.ToLower(tag); t == langJa || strings.HasPrefix(t, langJa+"-") {
		return langJa
	}
	return langEn
}

// localize returns the status-message msg in lang. The server's own
// messages have their Japanese beside them; a message it does not know
// (a backend's refusal, with details) gives way to its status's Japanese
// words rather than leave English on a Japanese client's screen.
func localize(lang string, status goipp.Status, msg string) string {
	if lang != langJa {
		return msg
	}
	if ja, ok := jaMessages[msg]; ok {
		return ja
	}
	for _, p := range jaPrefixes {
		if strings.HasPrefix(msg, p.en) {
			return p.ja
		}
	}
	if ja, ok := jaStatus[status]; ok {
		return ja
	}
	if status < 0x100 {
		return "要求を処理しました。"
	}
	return "要求を処理できませんでした。"
}

// jaMessages are the Japanese of the server's fixed status messages.
var jaMessages = map[string]string{
	"This queue is not accepting jobs.":                                                            "このキューは現在ジョブを受け付けていません。",
	"The Print-Job request carries no document.":                                                   "Print-Job の要求に文書が含まれていません。",
	"Send-Document needs the last-document attribute.":                                             "Send-Document には last-document 属性が必要です。",
	"The document could not be read.":                                                              "文書を読み取れませんでした。",
	"That job-hold-until value is not supported.":                                                  "その job-hold-until の値には対応していません。",
	"That which-jobs value is not supported.":                                                      "その which-jobs の値には対応していません。",
	"The limit must be at least 1.":                                                                "limit は 1 以上にしてください。",
	"The request needs job-uri, or printer-uri with job-id.":                                       "要求には job-uri、または printer-uri と job-id が必要です。",
	"There is no such job.":                                                                        "そのジョブはありません。",
	"Every job-ids value must be a positive integer.":                                              "job-ids の値はすべて正の整数にしてください。",
	"The job is not in a state that allows this.":                                                  "ジョブが今の状態ではその操作はできません。",
	"You may not do this to that job.":                                                             "そのジョブにその操作をする権限がありません。",
	"You may not use this queue.":                                                                  "このキューを使う権限がありません。",
	"Sign in to use this queue.":                                                                   "このキューを使うにはサインインしてください。",
	"The document is larger than this queue accepts.":                                              "文書がこのキューで受け付ける大きさを超えています。",
	"The document format is not supported.":                                                        "この文書形式には対応していません。",
	"The document's content is not in the format it was sent as.":                                  "文書の中身が、送られた形式と一致しません。",
	"The request is not valid.":                                                                    "要求が正しくありません。",
	"A job holds one document only.":                                                               "1 つのジョブに入れられる文書は 1 つだけです。",
	"The server is busy; try again.":                                                               "サーバーが混み合っています。もう一度お試しください。",
	"The document arrived too slowly and was refused.":                                             "文書の到着が遅すぎたため、受け付けませんでした。",
	"The service is unavailable; try again shortly.":                                               "ただいまサービスを利用できません。しばらくしてからお試しください。",
	"The request-id must not be 0.":                                                                "request-id を 0 にすることはできません。",
	"Only the utf-8 charset is supported.":                                                         "文字セットは utf-8 のみ対応しています。",
	"The request has no operation attributes.":                                                     "要求に操作属性がありません。",
	"The printer-uri names no printer served here.":                                                "printer-uri が示すプリンターはここにはありません。",
	"The job-uri names no job served here.":                                                        "job-uri が示すジョブはここにはありません。",
	"The request has no printer-uri or job-uri.":                                                   "要求に printer-uri も job-uri もありません。",
	"The first operation attributes must be attributes-charset, then attributes-natural-language.": "最初の操作属性は attributes-charset、次に attributes-natural-language にしてください。",
	"Some job attributes or values are not supported; see the unsupported attributes.":             "対応していないジョブ属性または値があります。未対応属性の一覧をご覧ください。",
	"Some job attributes or values were ignored.":                                                  "一部のジョブ属性または値は無視されました。",
	"Only job-password-encryption 'none' is supported.":                                            "job-password-encryption は 'none' のみ対応しています。",
	"The job-password must be 1 to 255 octets.":                                                    "job-password は 1〜255 オクテットにしてください。",
	"This queue prints jobs at once; its job-release-action is 'none'.":                            "このキューはジョブをすぐに印刷します。job-release-action は 'none' です。",
	"job-release-action 'job-password' needs a job-password.":                                      "job-release-action 'job-password' には job-password が必要です。",
	"There is nothing to identify: jobs print at the printer where you release them.":              "識別するものはありません。ジョブはリリースしたプリンターで印刷されます。",
	"This queue's jobs are released by their owner at a printer ('owner-authorized') or with their job-password ('job-password').": "このキューのジョブは、本人がプリンターで（'owner-authorized'）、またはジョブパスワードで（'job-password'）リリースします。",
}

// jaPrefixes translate the messages that carry a value, by their fixed
// start.
var jaPrefixes = []struct{ en, ja string }{
	{"Malformed IPP request", "IPP の要求の形式が正しくありません。"},
	{"Operation ", "この操作には対応していません。"},
	{"IPP version ", "この IPP のバージョンには対応していません。"},
	{"Compression ", "この圧縮方式には対応していません。"},
	{"Attribute group ", "属性グループが繰り返されています。"},
	{"The server could not ", "サーバーが要求を処理できませんでした。問題はログに記録されています。"},
	{"The job-name and document-name were longer", "job-name と document-name が IPP の上限より長いため、短くしました。"},
	{"The job-name was longer", "job-name が IPP の上限より長いため、短くしました。"},
	{"The document-name was longer", "document-name が IPP の上限より長いため、短くしました。"},
}

// jaStatus are the Japanese words of each status, for a message the
// server did not write itself.
var jaStatus = map[goipp.Status]string{
	goipp.StatusOk:                              "正常に処理しました。",
	goipp.StatusOkIgnoredOrSubstituted:          "処理しましたが、一部の属性は無視または置き換えられました。",
	goipp.StatusErrorBadRequest:                 "要求が正しくありません。",
	goipp.StatusErrorForbidden:                  "この操作は許可されていません。",
	goipp.StatusErrorNotAuthenticated:           "サインインが必要です。",
	goipp.StatusErrorNotAuthorized:              "この操作をする権限がありません。",
	goipp.StatusErrorNotPossible:                "今はこの操作はできません。",
	goipp.StatusErrorTimeout:                    "時間内に届きませんでした。",
	goipp.StatusErrorNotFound:                   "見つかりません。",
	goipp.StatusErrorRequestEntity:              "文書が大きすぎます。",
	goipp.StatusErrorRequestValue:               "属性の値が長すぎます。",
	goipp.StatusErrorDocumentFormatNotSupported: "この文書形式はこのキューでは受け付けていません。",
	goipp.StatusErrorAttributesOrValues:         "対応していない属性または値があります。",
	goipp.StatusErrorCharset:                    "この文字セットには対応していません。",
	goipp.StatusErrorNotAcceptingJobs:           "このキューは現在ジョブを受け付けていません。",
	goipp.StatusErrorDocumentFormatError:        "文書の中身が、送られた形式と一致しません。",
	goipp.StatusErrorInternal:                   "サーバー内部で問題が発生しました。",
	goipp.StatusErrorOperationNotSupported:      "この操作には対応していません。",
	goipp.StatusErrorServiceUnavailable:         "ただいまサービスを利用できません。",
	goipp.StatusErrorVersionNotSupported:        "この IPP のバージョンには対応していません。",
	goipp.StatusErrorBusy:                       "サーバーが混み合っています。",
	goipp.StatusErrorMultipleJobsNotSupported:   "1 つのジョブに入れられる文書は 1 つだけです。",
	goipp.StatusErrorCompressionNotSupported:    "この圧縮方式には対応していません。",
}

// jobStateMessage is a job's job-state-message in lang: the backend's
// message in English, the state's Japanese words (and its reason's) in
// Japanese.
func jobStateMessage(j Job, lang string) string {
	if lang != langJa {
		return orDefault(j.Message, j.State.String())
	}
	msg := jaJobState[j.State]
	for _, r := range j.Reasons {
		if ja, ok := jaJobReason[r]; ok {
			return msg + "：" + ja
		}
	}
	return msg
}

var jaJobState = map[JobState]string{
	JobPending:    "印刷待ち",
	JobHeld:       "保留中",
	JobProcessing: "印刷中",
	JobStopped:    "印刷が止まっています",
	JobCanceled:   "削除済み",
	JobAborted:    "中止",
	JobCompleted:  "印刷済み",
}

// jaJobReason are the Japanese of the job-state-reasons a person needs
// explained.
var jaJobReason = map[string]string{
	"job-hold-until-specified":   "プリンターでリリースすると印刷されます",
	"job-incoming":               "文書を受信中です",
	"job-canceled-by-user":       "本人が削除しました",
	"job-canceled-by-operator":   "管理者が削除しました",
	"job-expired":                "リリースされないまま期限切れになりました",
	"job-completed-successfully": "最後まで印刷しました",
	"job-incomplete":             "文書が最後まで届きませんでした",
	"document-missing":           "保存前に文書が失われました",
	"may-have-printed":           "印刷された可能性があります。再印刷の前にプリンターを確認してください",
	"printer-unreachable":        "プリンターに接続できませんでした",
	"job-password-wait":          "ジョブパスワードを入力すると印刷されます",
}
