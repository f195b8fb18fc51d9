package plugin

import (
	"fmt"
	"strconv"
	"strings"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// printer writes the step's log in the user's language: every part that prints holds one (a copy; the
// log it wraps is safe for concurrent use).
type printer struct {
	log  *bkci.Log
	lang i18n.Lang
}

func (p printer) t(key string, args ...any) string { return p.lang.T(key, args...) }

// tn is t with the message for n: one when n is 1, else other (English says "1 host", "2 hosts").
func (p printer) tn(n int, one, other string, args ...any) string {
	if n == 1 {
		return p.t(one, args...)
	}
	return p.t(other, args...)
}

// statusName is the localized name of a job ("job") or target ("target") status; unknown codes are named
// by number.
func (p printer) statusName(kind string, code int) string {
	key := "status." + kind + "." + strconv.Itoa(code)
	if name := p.t(key); name != key {
		return name
	}
	return p.t("status.unknown", code)
}

// apiErrorText is a JOB error as the user sees it: JOB's code, message and request id.
func (p printer) apiErrorText(err error) string {
	ae, ok := jobapi.As(err)
	if !ok {
		return p.log.Redact(err.Error())
	}
	rid := ae.RequestID
	if rid == "" {
		rid = "-"
	}
	msg := ae.Message
	if msg == "" && ae.Err != nil {
		msg = ae.Err.Error()
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", ae.HTTPStatus)
	}
	if ae.Code == 0 {
		return p.log.Redact(p.t("msg.api_error_nocode", ae.Op, msg, rid))
	}
	return p.log.Redact(p.t("msg.api_error", ae.Op, ae.Code, msg, rid))
}

// printTargetLines prints text as lines of the target's sub-tag.
func (p printer) printTargetLines(lbl, text string) {
	text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		p.log.SubTag(lbl, line)
	}
}
