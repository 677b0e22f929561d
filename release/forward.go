package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/OpenPrinting/goipp"
	"gorm.io/gorm"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/printerinfo"
)

// forwardLater prints job id in the background.
func (s *Service) forwardLater(id int64) {
	s.delivering.add(id)
	s.goBackground(func(ctx context.Context) {
		defer s.delivering.done(id)
		if err := s.forward(ctx, id); err != nil {
			s.log.Error("release: forward", "job", id, "err", err)
		}
	})
}

// forward prints a job of a direct queue on the queue's printer.
func (s *Service) forward(ctx context.Context, id int64) error {
	var j Job
	if err := s.db.WithContext(ctx).Take(&j, id).Error; err != nil {
		return dbErr(fmt.Sprintf("load job %d", id), err)
	}
	q, err := s.queue(j.Queue)
	if err != nil {
		return err
	}
	return s.deliver(ctx, &j, q.Printer, Actor{Method: "direct", Printer: q.Printer}, nil)
}

// deliver streams j's document to printer and follows the printer's job to
// its end: releasing becomes printing once the printer has the document,
// then completed. A printer that cannot be reached, refuses the job or
// aborts it sends the job back on hold with the reason, so nothing is
// lost; a completed job's document is destroyed. Options the printer
// cannot honour are changed or refused as the policy says (honour.go),
// and every change is in the audit events of the print. early, when not
// nil, is what was made ready while j was claimed (early.go).
func (s *Service) deliver(ctx context.Context, j *Job, printer string, by Actor, early *headStart) error {
	by.Printer = printer
	st, h, err := s.send(ctx, j, printer, early)
	details := h.details()
	// A direct job was printing from its submission: its printed event
	// carries what the print changed.
	printed := details
	if err == nil && j.State == StateReleasing {
		printed = nil
		if _, err := s.transition(context.WithoutCancel(ctx), j, change{from: []State{StateReleasing},
			to: StatePrinting, reason: reasonFor(StatePrinting), by: by, details: details}); err != nil {
			return err
		}
	}
	// From here the printer has the job: whatever ends it but
	// completion may have printed some or all of it.
	accepted := err == nil
	if err == nil && !st.State.Terminal() {
		st, err = s.client.Wait(ctx, printer, st.ID)
	}
	if ctx.Err() != nil {
		// Shutting down: the job stays where it is and start-up puts it
		// back on hold, since we cannot know whether it printed.
		return ctx.Err()
	}
	if accepted {
		// Whatever ends the print, a printer job with its ID from now on
		// is not this job's (Monitored.Forwarded). Noted before the job's
		// state changes, so whoever sees it ended sees its send ended.
		s.endSends(context.WithoutCancel(ctx), j.ID)
	}
	if err == nil && st.State == ipp.JobCompleted {
		_, err := s.transition(context.WithoutCancel(ctx), j, change{from: []State{StatePrinting},
			to: StateCompleted, reason: reasonFor(StateCompleted), by: by, details: printed})
		return err
	}
	if accepted {
		err = mayHavePrintedAfter(st, err)
	}
	reason, msg := failure(st, err)
	s.log.Warn("release: print failed; job held again", "job", j.ID, "printer", printer, "reason", reason, "err", err)
	_, terr := s.transition(context.WithoutCancel(ctx), j, change{from: []State{StateReleasing, StatePrinting},
		to: StateHeld, reason: reason, message: msg, by: by, details: details})
	return terr
}

// send opens j's document and submits it to printer, with the job's
// options fitted to what the printer supports. The first attempt uses
// what early made ready, if given.
func (s *Service) send(ctx context.Context, j *Job, printer string, early *headStart) (ipp.JobStatus, honoured, error) {
	// An attempt that ends before it takes the head start leaves it.
	defer func() { early.discard() }()
	// A printer that is busy with another job says so and expects the
	// client to come back; give it a couple of minutes before calling the
	// print failed.
	wait := 250 * time.Millisecond
	deadline := time.Now().Add(s.busyWait)
	var retry honoured
	for {
		st, h, err := s.sendOnce(ctx, j, printer, retry, &early)
		if refusedAttributes(err) && !retry.dropped {
			// The printer refused options its attributes said it takes:
			// once more without those the policy lets go, recorded.
			if retry = h.dropAllowed(s.policyFor(j)); retry.dropped {
				continue
			}
		}
		if !busy(err) || time.Now().Add(wait).After(deadline) {
			return st, h, err
		}
		select {
		case <-ctx.Done():
			return st, h, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

// busy reports whether err is a printer asking to be tried again later.
func busy(err error) bool {
	var se *ipp.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Status {
	case goipp.StatusErrorBusy, goipp.StatusErrorServiceUnavailable, goipp.StatusErrorTemporary,
		goipp.StatusErrorNotAcceptingJobs:
		return true
	}
	return false
}

// printerJobName is the job-name a printer receives for j: its name, or,
// where printgate records the name only keyed (hidesName), a name that
// says nothing of the document. A printer keeps the names of the jobs
// it printed, shows them on its panel and in its web pages, and hands
// them to anyone who asks for its completed jobs (printgate's monitor
// among them, which records what it cannot match as printed without
// printgate).
func printerJobName(q Queue, j *Job) string {
	if hidesName(q, j) {
		return "printgate job " + strconv.FormatInt(j.ID, 10)
	}
	return j.Name
}

// refusedAttributes reports whether the printer refused the job's options.
func refusedAttributes(err error) bool {
	var se *ipp.StatusError
	return errors.As(err, &se) && se.Status == goipp.StatusErrorAttributesOrValues
}

// sendOnce sends j to printer once: the queue's rules applied to its
// options, then the options fitted to the printer. retry, when it
// dropped options after a refusal, says which. *early, the head start,
// is taken by the attempt that reads the document.
func (s *Service) sendOnce(ctx context.Context, j *Job, printer string, retry honoured, early **headStart) (ipp.JobStatus, honoured, error) {
	req := ipp.PrintRequest{
		JobName:        printerJobName(s.queues[j.Queue], j),
		UserName:       j.Owner,
		DocumentFormat: j.Format,
		Copies:         j.Copies,
		Sides:          j.Sides,
		ColorMode:      j.ColorMode,
		Media:          j.Media,
		PageRanges:     j.PageRanges,
	}
	if err := s.applyRules(ctx, j, &req); err != nil {
		return ipp.JobStatus{}, honoured{}, err
	}
	h, err := s.honour(ctx, printer, &req, retry, s.policyFor(j))
	if err != nil {
		return ipp.JobStatus{}, h, err
	}
	doc, conn := take(early)
	// Unless the job below takes it, the connection carries nothing.
	defer conn.Close()
	if doc == nil {
		if doc, err = s.openDocument(ctx, j); err != nil {
			return ipp.JobStatus{}, h, err
		}
	}
	defer doc.Close()
	// The forensic stamp goes on first, before anything converts the
	// document, so that whatever the printer takes carries it.
	body, err := s.stamped(ctx, j, printer, doc)
	if err != nil {
		return ipp.JobStatus{}, h, err
	}
	body, conv, err := s.converted(ctx, printer, &req, body, content{forced: forcedRules(j.appliedRules), pages: h.selected})
	if err != nil {
		return ipp.JobStatus{}, h, err
	}
	if conv.out != nil {
		defer conv.out.Close()
	}
	h.converted, h.pages, h.rulesConverted = conv.detail(), conv.pages, conv.rules
	sent := &sentCounter{r: body}
	// The printer makes its job as the request begins: the send's time
	// starts before it (the monitor matches by time).
	sentAt := s.now()
	st, err := s.client.PrintJobOn(ctx, conn, printer, req, sent)
	if err != nil {
		if conv.out != nil {
			err = cmp.Or(conv.out.failed(), err)
		}
		if reached(sent.n.Load(), err) {
			err = mayHavePrintedAfter(st, err)
		}
		return st, h, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&Job{}).Where("id = ?", j.ID).
			Updates(map[string]any{"printer": printer, "printer_job_id": st.ID}).Error
		if err != nil {
			return err
		}
		return recordSend(tx, j.ID, printer, st.ID, sentAt, s.now())
	})
	if err != nil {
		// The printer has the job; that printgate could not note it must
		// not make it one that never printed.
		return st, h, &mayHavePrinted{reason: "printer-job-not-recorded",
			message: "The printer took the job, but printgate could not record it.", err: dbErr("record printer job", err)}
	}
	return st, h, nil
}

// failure turns a failed print into a reason keyword and a message a
// person at the printer can act on.
func failure(st ipp.JobStatus, err error) (reason, message string) {
	var se *ipp.StatusError
	var un *printerinfo.Unsupported
	var held *heldError
	var mhp *mayHavePrinted
	switch {
	case errors.As(err, &mhp):
		return ReasonMayHavePrinted, mhp.message + " " + mayHavePrintedMessage
	case errors.As(err, &un):
		return un.Reason(), unsupportedMessage(un)
	case errors.As(err, &held):
		return held.reason, held.message
	case errors.Is(err, errRulesUnknown):
		return "rules-unavailable", "The directory could not say which print rules apply. Try again shortly."
	case errors.As(err, &se):
		return "printer-refused", fmt.Sprintf("The printer refused the job (%s).", se.Status)
	case err != nil:
		return "printer-unreachable", "The printer could not be reached. Try again when it is back."
	case st.State == ipp.JobCanceled:
		return "printer-canceled", "The job was canceled at the printer."
	}
	return "printer-aborted", "The printer aborted the job."
}

// documentKey returns the wrapped key of j's document, read when needed
// rather than carried with every job loaded.
func (s *Service) documentKey(ctx context.Context, j *Job) ([]byte, error) {
	if j.WrappedKey != nil {
		return j.WrappedKey, nil
	}
	var k jobKey
	if err := s.db.WithContext(ctx).Where("job_id = ?", j.ID).Take(&k).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("load key of job %d", j.ID), err)
	}
	return k.WrappedKey, nil
}
