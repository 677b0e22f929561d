package ipp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// handler runs one operation on the server it is given.
type handler func(s *Server, ctx context.Context, req *request) (goipp.Status, string)

// handlerOf returns the handler of op, or false for an operation printgate
// does not support. A switch of method expressions: a map built per request
// was a few hundred bytes of garbage on every Print-Job.
func handlerOf(op goipp.Op) (handler, bool) {
	switch op {
	case goipp.OpPrintJob:
		return (*Server).printJob, true
	case goipp.OpValidateJob:
		return (*Server).validateJob, true
	case goipp.OpCreateJob:
		return (*Server).createJob, true
	case goipp.OpSendDocument:
		return (*Server).sendDocument, true
	case goipp.OpCloseJob:
		return (*Server).closeJob, true
	case goipp.OpCancelJob:
		return (*Server).cancelJob, true
	case goipp.OpCancelMyJobs:
		return (*Server).cancelMyJobs, true
	case goipp.OpGetJobAttributes:
		return (*Server).getJobAttributes, true
	case goipp.OpGetJobs:
		return (*Server).getJobs, true
	case goipp.OpGetPrinterAttributes:
		return (*Server).getPrinterAttributes, true
	case goipp.OpHoldJob:
		return (*Server).holdJob, true
	case goipp.OpReleaseJob:
		return (*Server).releaseJob, true
	case goipp.OpIdentifyPrinter:
		return (*Server).identifyPrinter, true
	}
	return nil, false
}

// document checks document-format and compression of a request that
// carries or announces a document.
func (s *Server) document(req *request) (DocumentInfo, goipp.Status, string) {
	var d DocumentInfo
	d.Name, _ = req.op.str("document-name")
	d.Format, _ = req.op.str("document-format")
	if d.Format == "" {
		d.Format = req.printer.Formats[0]
	}
	if !slices.Contains(req.printer.Formats, d.Format) {
		req.resp.Unsupported.Add(req.op["document-format"])
		return d, goipp.StatusErrorDocumentFormatNotSupported,
			fmt.Sprintf("Document format %q is not supported here; use one of %s.", d.Format, strings.Join(req.printer.Formats, ", "))
	}
	if c, ok := req.op.str("compression"); ok && c != "none" {
		req.resp.Unsupported.Add(req.op["compression"])
		return d, goipp.StatusErrorCompressionNotSupported, fmt.Sprintf("Compression %q is not supported.", c)
	}
	return d, goipp.StatusOk, ""
}

// creation runs the checks shared by Print-Job, Validate-Job and Create-Job.
func (s *Server) creation(req *request, withDoc bool) (JobRequest, goipp.Status, string) {
	if !req.printer.Accepting {
		return JobRequest{}, goipp.StatusErrorNotAcceptingJobs, "This queue is not accepting jobs."
	}
	if withDoc {
		d, st, msg := s.document(req)
		if st != goipp.StatusOk {
			return JobRequest{}, st, msg
		}
		jr, st, msg := s.jobRequest(req)
		jr.Document = d
		return jr, st, msg
	}
	return s.jobRequest(req)
}

func (s *Server) printJob(ctx context.Context, req *request) (goipp.Status, string) {
	jr, st, msg := s.creation(req, true)
	if st != goipp.StatusOk && st != goipp.StatusOkIgnoredOrSubstituted {
		return st, msg
	}
	if empty, err := noData(req.body); err != nil || empty {
		return goipp.StatusErrorBadRequest, "The Print-Job request carries no document."
	}
	job, err := s.backend.PrintJob(ctx, jr, req.body)
	if err != nil {
		return s.failure(err, "print job")
	}
	s.addJobStatus(req, job)
	return st, msg
}

func (s *Server) validateJob(ctx context.Context, req *request) (goipp.Status, string) {
	_, st, msg := s.creation(req, true)
	return st, msg
}

func (s *Server) createJob(ctx context.Context, req *request) (goipp.Status, string) {
	jr, st, msg := s.creation(req, false)
	if st != goipp.StatusOk && st != goipp.StatusOkIgnoredOrSubstituted {
		return st, msg
	}
	job, err := s.backend.CreateJob(ctx, jr)
	if err != nil {
		return s.failure(err, "create job")
	}
	s.addJobStatus(req, job)
	return st, msg
}

func (s *Server) sendDocument(ctx context.Context, req *request) (goipp.Status, string) {
	t, st, msg := s.target(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	last, ok := req.op.boolean("last-document")
	if !ok {
		return goipp.StatusErrorBadRequest, "Send-Document needs the last-document attribute."
	}
	d, st, msg := s.document(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	var doc io.Reader = req.body
	if empty, err := noData(req.body); err != nil {
		return goipp.StatusErrorBadRequest, "The document could not be read."
	} else if empty {
		doc = nil
	}
	job, err := s.backend.SendDocument(ctx, DocumentRequest{JobTarget: t, Document: d, Last: last}, doc)
	if err != nil {
		return s.failure(err, "send document")
	}
	s.addJobStatus(req, job)
	return goipp.StatusOk, ""
}

func (s *Server) closeJob(ctx context.Context, req *request) (goipp.Status, string) {
	return s.jobOp(ctx, req, s.backend.CloseJob, "close job")
}

func (s *Server) cancelJob(ctx context.Context, req *request) (goipp.Status, string) {
	return s.jobOp(ctx, req, s.backend.CancelJob, "cancel job")
}

func (s *Server) releaseJob(ctx context.Context, req *request) (goipp.Status, string) {
	return s.jobOp(ctx, req, s.backend.ReleaseJob, "release job")
}

func (s *Server) holdJob(ctx context.Context, req *request) (goipp.Status, string) {
	until := "indefinite"
	if a, ok := req.op["job-hold-until"]; ok {
		if !jobTemplate["job-hold-until"](a, req.printer) {
			req.resp.Unsupported.Add(a)
			return goipp.StatusErrorAttributesOrValues, "That job-hold-until value is not supported."
		}
		until = a.Values[0].V.String()
	}
	return s.jobOp(ctx, req, func(ctx context.Context, t JobTarget) (Job, error) {
		return s.backend.HoldJob(ctx, t, until)
	}, "hold job")
}

// jobOp runs a state change on the request's target job.
func (s *Server) jobOp(ctx context.Context, req *request, op func(context.Context, JobTarget) (Job, error), what string) (goipp.Status, string) {
	t, st, msg := s.target(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	if _, err := op(ctx, t); err != nil {
		return s.failure(err, what)
	}
	return goipp.StatusOk, ""
}

func (s *Server) cancelMyJobs(ctx context.Context, req *request) (goipp.Status, string) {
	ids, st, msg := jobIDs(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	t := JobTarget{Queue: req.printer.Name, User: req.user()}
	if _, err := s.backend.CancelMyJobs(ctx, t, ids); err != nil {
		return s.failure(err, "cancel my jobs")
	}
	return goipp.StatusOk, ""
}

func (s *Server) getJobAttributes(ctx context.Context, req *request) (goipp.Status, string) {
	t, st, msg := s.target(req)
	if st != goipp.StatusOk {
		return st, msg
	}
	job, err := s.backend.Job(ctx, t.Queue, t.ID)
	if err != nil {
		return s.failure(err, "get job")
	}
	sel := selectJobAttrs(stringValues(req.op["requested-attributes"])...)
	req.resp.Job = s.jobAttributes(job, req.loc, req.owns(job), sel)
	return goipp.StatusOk, ""
}

func (s *Server) getJobs(ctx context.Context, req *request) (goipp.Status, string) {
	q := JobQuery{Queue: req.printer.Name, Which: "not-completed"}
	if a, ok := req.op["which-jobs"]; ok {
		if !oneOf(whichJobs...)(a, req.printer) {
			req.resp.Unsupported.Add(a)
			return goipp.StatusErrorAttributesOrValues, "That which-jobs value is not supported."
		}
		q.Which = a.Values[0].V.String()
	}
	if mine, _ := req.op.boolean("my-jobs"); mine {
		q.User, q.Since = req.user(), req.principal.Since
	}
	limit, st, msg := s.jobsLimit(req)
	if st != goipp.StatusOk && st != goipp.StatusOkIgnoredOrSubstituted {
		return st, msg
	}
	ids, idSt, idMsg := jobIDs(req)
	if idSt != goipp.StatusOk {
		return idSt, idMsg
	}
	q.IDs = ids
	requested := stringValues(req.op["requested-attributes"])
	if len(requested) == 0 {
		requested = []string{"job-uri", "job-id"}
	}
	cut, err := s.listJobs(ctx, req, q, limit, requested)
	if err != nil {
		return s.failure(err, "get jobs")
	}
	if cut {
		if _, asked := req.op["limit"]; !asked {
			msg = fmt.Sprintf("Only the first %d jobs are listed.", limit)
		}
	}
	if st == goipp.StatusOkIgnoredOrSubstituted {
		return st, msg
	}
	return goipp.StatusOk, msg
}

// DefaultJobsPage is how many jobs Get-Jobs asks the Backend for at a
// time (WithJobsPage), so that listing a deep queue holds one page of
// jobs, not all of them.
const DefaultJobsPage = 2000

// listJobs encodes the jobs q selects, up to limit (0: all), into req's
// repeated groups a page at a time, and reports whether the limit cut the
// list short.
func (s *Server) listJobs(ctx context.Context, req *request, q JobQuery, limit int, requested []string) (bool, error) {
	sel := selectJobAttrs(requested...)
	q.Fields = sel.fields()
	if !req.principal.Since.IsZero() {
		q.Fields |= FieldCreated // owns reads it
	}
	listed := 0
	for {
		q.Limit = s.jobsPage
		if limit > 0 {
			// One more than the limit tells whether the list was cut.
			q.Limit = min(s.jobsPage, limit+1-listed)
		}
		paged := 0
		for j, err := range s.backend.Jobs(ctx, q) {
			if err != nil {
				req.groups = nil
				return false, err
			}
			if limit > 0 && listed == limit {
				return true, nil
			}
			a := s.jobAttributes(j, req.loc, req.owns(j), sel)
			if req.groups, err = encodeGroup(req.groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: a}); err != nil {
				req.groups = nil
				return false, fmt.Errorf("encode job %d: %w", j.ID, err)
			}
			listed++
			paged++
			q.After = j.ID
		}
		if paged < q.Limit {
			return false, nil
		}
	}
}

// jobsLimit returns how many jobs Get-Jobs answers with (0: all). The
// client's limit is honored up to the server's; a larger one is
// substituted (successful-ok-ignored-or-substituted-attributes, RFC 8011
// 4.1.7), and without one the server's applies, so that no request makes
// the server list an unbounded number of jobs.
func (s *Server) jobsLimit(req *request) (int, goipp.Status, string) {
	n, ok := req.op.integer("limit")
	switch {
	case !ok:
		return s.maxJobsListed, goipp.StatusOk, ""
	case n < 1:
		req.resp.Unsupported.Add(req.op["limit"])
		return 0, goipp.StatusErrorAttributesOrValues, "The limit must be at least 1."
	case s.maxJobsListed > 0 && n > s.maxJobsListed:
		req.resp.Unsupported.Add(req.op["limit"])
		return s.maxJobsListed, goipp.StatusOkIgnoredOrSubstituted,
			fmt.Sprintf("At most %d jobs are listed.", s.maxJobsListed)
	}
	return n, goipp.StatusOk, ""
}

func (s *Server) getPrinterAttributes(ctx context.Context, req *request) (goipp.Status, string) {
	queued, err := s.backend.QueuedJobs(ctx, req.printer.Name)
	if err != nil {
		return s.failure(err, "count jobs")
	}
	all := s.printerAttributes(req.printer, req.loc, queued)
	groups := map[string][]string{
		"job-template":        printerGroups["job-template"],
		"printer-description": printerDescription(all),
	}
	req.resp.Printer = filter(all, stringValues(req.op["requested-attributes"]), groups)
	return goipp.StatusOk, ""
}

func (s *Server) identifyPrinter(ctx context.Context, req *request) (goipp.Status, string) {
	return goipp.StatusOk, "There is nothing to identify: jobs print at the printer where you release them."
}

// target finds the job a request is about: job-uri (or the request path),
// or printer-uri plus job-id.
func (s *Server) target(req *request) (JobTarget, goipp.Status, string) {
	t := JobTarget{Queue: req.printer.Name, ID: req.jobID, User: req.user()}
	if t.ID == 0 {
		id, ok := req.op.integer("job-id")
		if !ok {
			return t, goipp.StatusErrorBadRequest, "The request needs job-uri, or printer-uri with job-id."
		}
		t.ID = id
	}
	if t.ID <= 0 {
		return t, goipp.StatusErrorNotFound, "There is no such job."
	}
	return t, goipp.StatusOk, ""
}

// jobIDs reads the job-ids operation attribute (PWG 5100.11).
func jobIDs(req *request) ([]int, goipp.Status, string) {
	a, ok := req.op["job-ids"]
	if !ok {
		return nil, goipp.StatusOk, ""
	}
	ids := make([]int, 0, len(a.Values))
	for _, v := range a.Values {
		i, ok := v.V.(goipp.Integer)
		if !ok || i <= 0 {
			req.resp.Unsupported.Add(a)
			return nil, goipp.StatusErrorAttributesOrValues, "Every job-ids value must be a positive integer."
		}
		ids = append(ids, int(i))
	}
	return ids, goipp.StatusOk, ""
}

// statusAttrs are what a job operation answers with about its job.
var statusAttrs = selectJobAttrs("job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message")

func (s *Server) addJobStatus(req *request, j Job) {
	req.resp.Job = s.jobAttributes(j, req.loc, true, statusAttrs)
}

// noData reports whether the request body has no document bytes.
func noData(body interface{ Peek(int) ([]byte, error) }) (bool, error) {
	_, err := body.Peek(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// failure maps a Backend error to its IPP status. Only messages the Backend
// marked safe reach the client; anything unexpected is logged.
func (s *Server) failure(err error, what string) (goipp.Status, string) {
	for _, m := range errorStatus {
		if errors.Is(err, m.err) {
			return m.status, refusalMessage(err, m.message)
		}
	}
	s.log.Error("ipp: "+what, "err", err)
	return goipp.StatusErrorInternal, "The server could not " + what + "; the problem is logged."
}

var errorStatus = []struct {
	err     error
	status  goipp.Status
	message string
}{
	{ErrNotFound, goipp.StatusErrorNotFound, "There is no such job."},
	{ErrNotPossible, goipp.StatusErrorNotPossible, "The job is not in a state that allows this."},
	{ErrNotAuthorized, goipp.StatusErrorNotAuthorized, "You may not do this to that job."},
	{ErrForbidden, goipp.StatusErrorForbidden, "You may not use this queue."},
	{ErrUnauthenticated, goipp.StatusErrorNotAuthenticated, "Sign in to use this queue."},
	{ErrTooLarge, goipp.StatusErrorRequestEntity, "The document is larger than this queue accepts."},
	{ErrFormat, goipp.StatusErrorDocumentFormatNotSupported, "The document format is not supported."},
	{ErrFormatError, goipp.StatusErrorDocumentFormatError, "The document's content is not in the format it was sent as."},
	{ErrBadRequest, goipp.StatusErrorBadRequest, "The request is not valid."},
	{ErrNotAccepting, goipp.StatusErrorNotAcceptingJobs, "This queue is not accepting jobs."},
	{ErrMultipleDocuments, goipp.StatusErrorMultipleJobsNotSupported, "A job holds one document only."},
	{ErrBusy, goipp.StatusErrorBusy, "The server is busy; try again."},
	{ErrClientTimeout, goipp.StatusErrorTimeout, "The document arrived too slowly and was refused."},
	{ErrUnavailable, goipp.StatusErrorServiceUnavailable, "The service is unavailable; try again shortly."},
}

func refusalMessage(err error, fallback string) string {
	var r *Refusal
	if errors.As(err, &r) && r.Message != "" {
		return r.Message
	}
	return fallback
}
