package ipp

// JobFields names fields of a Job that a listing must fill (JobQuery.Fields).
// ID, Queue and Owner are always filled: a job's URI and who may see its
// name need them. A Get-Jobs of a deep queue asks for a few attributes
// of thousands of jobs, and reading only the columns those attributes
// need is most of what a listing costs its database.
type JobFields uint32

// The fields of a Job beyond ID, Queue and Owner.
const (
	FieldName JobFields = 1 << iota
	// FieldState is State and Incoming.
	FieldState
	FieldReasons
	FieldMessage
	FieldCreated
	FieldProcessed
	FieldCompleted
	// FieldFormat is Format and FormatDetected.
	FieldFormat
	FieldSize
	FieldPages
	FieldCopies
	FieldSides
	FieldColorMode
	FieldMedia
	FieldHoldUntil
	FieldPageRanges

	// AllFields is every field a job's attributes show (HasPassword
	// is none of them).
	AllFields = FieldPageRanges<<1 - 1
)

// Only returns j with only the fields f names kept (and ID, Queue and
// Owner): what a Backend that lists jobs for f must fill at least.
func (j Job) Only(f JobFields) Job {
	out := Job{ID: j.ID, Queue: j.Queue, Owner: j.Owner}
	keep := func(field JobFields, set func()) {
		if f&field != 0 {
			set()
		}
	}
	keep(FieldName, func() { out.Name = j.Name })
	keep(FieldState, func() { out.State, out.Incoming = j.State, j.Incoming })
	keep(FieldReasons, func() { out.Reasons = j.Reasons })
	keep(FieldMessage, func() { out.Message = j.Message })
	keep(FieldCreated, func() { out.Created = j.Created })
	keep(FieldProcessed, func() { out.Processed = j.Processed })
	keep(FieldCompleted, func() { out.Completed = j.Completed })
	keep(FieldFormat, func() { out.Format, out.FormatDetected = j.Format, j.FormatDetected })
	keep(FieldSize, func() { out.Size = j.Size })
	keep(FieldPages, func() { out.Pages = j.Pages })
	keep(FieldCopies, func() { out.Copies = j.Copies })
	keep(FieldSides, func() { out.Sides = j.Sides })
	keep(FieldColorMode, func() { out.ColorMode = j.ColorMode })
	keep(FieldMedia, func() { out.Media = j.Media })
	keep(FieldHoldUntil, func() { out.HoldUntil = j.HoldUntil })
	keep(FieldPageRanges, func() { out.PageRanges = j.PageRanges })
	return out
}
