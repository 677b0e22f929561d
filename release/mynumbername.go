package release

import (
	"github.com/printgate/printgate/audit/mynumber"
	"github.com/printgate/printgate/ipp"
)

// redactNames masks the digits of j's job and document names where one
// holds an individual number (mynumber), as a client may name a job after
// whose number it holds. The names reach the job's row, its audit events
// and record, the exports, the consoles, IPP's job attributes and the
// printer: none of them may hold a number, so the name is masked before
// any of them sees it, whatever the queue's policy and whatever the
// document holds. The requesting-user-name the client claimed goes to the
// same places (ClaimedUser, and the owner of a job nobody is known as,
// decideOwner); the directory is asked about it as sent.
func redactNames(j *Job) {
	j.Name = mynumber.MaskName(j.Name)
	j.DocumentName = mynumber.MaskName(j.DocumentName)
	j.ClaimedUser = mynumber.MaskName(j.ClaimedUser)
}

var _ ipp.NameFilter = ippBackend{}

// FilterName implements ipp.NameFilter: the IPP server has each job-name
// and document-name masked before it cuts one past IPP's 255 octets. Cut
// first, a number straddling the cut would keep 11 of its 12 digits,
// which redactNames no longer finds as a number and which, the twelfth
// being a check digit, give the number away.
func (ippBackend) FilterName(name string) string { return mynumber.MaskName(name) }
