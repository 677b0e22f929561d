package pages

import (
	"errors"
	"fmt"
	"math"
)

// What the one-pass PDF counter remembers of the objects it has seen: a
// few facts per object, enough to walk the page tree at the end, where its
// definition is, and the references of arrays that may be /Kids. Later
// definitions of an object replace earlier ones, as an incremental update
// does; the walk checks each one against the cross-reference table.

// factKind is what an object is.
type factKind uint8

const (
	factOther  factKind = iota // a number, name, string, boolean
	factNull                   // null: as if missing, except as /Kids
	factDict                   // a dictionary
	factStream                 // a stream (never a page tree node)
	factArray                  // an array; kids holds its references
)

// Flags of a dictionary, and of any object's definition.
const (
	flagPages    uint8 = 1 << iota // /Type /Pages
	flagHasKids                    // has a /Kids entry
	flagPage                       // /Type /Page
	flagContents                   // has a /Contents entry
)

// kidsKind is what a /Kids entry holds.
type kidsKind uint8

const (
	kidsInvalid kidsKind = iota // not an array or a reference to one
	kidsArray                   // a direct array: kids
	kidsRef                     // a reference to an array object: ref
)

// Entries of a remembered array, besides object numbers (which are > 0)
// and inline page tree nodes (< kidInvalid).
const (
	kidLeaf    int32 = -1 // a dictionary written inline: a page
	kidInvalid int32 = -2 // anything that is not a dictionary
)

// objFact is what is remembered of one object.
type objFact struct {
	kind     factKind
	flags    uint8
	kidsKind kidsKind
	pages    int32 // a dictionary's /Pages reference: 0 none, -1 not a reference
	ref      int32 // kidsRef: the referenced object
	kids     span  // kidsArray, or an array object: its entries in pdfFacts.refs
	// Where it is defined: at the offset at, where its "n g obj" starts
	// (idx -1), or at index idx of the object stream whose header is at.
	idx int32
	at  int64
}

// span is a run of entries in pdfFacts.refs.
type span struct{ start, n int32 }

// pdfFacts holds the facts of a document's objects.
type pdfFacts struct {
	objs map[int32]objFact
	refs []int32 // the entries of remembered arrays, in spans
	// maxObjs and maxRefs bound objs and refs: past them the count is over
	// budget.
	maxObjs, maxRefs int
	err              error // over budget
	inline           int32 // the number of the last inline node
	// verify checks an object of the page tree (ok: it was found)
	// against the cross-reference table; set before the walk.
	verify func(num int32, o objFact, ok bool) error
}

func newPDFFacts(b Budget) *pdfFacts {
	return &pdfFacts{
		objs:    make(map[int32]objFact),
		maxObjs: b.Objects,
		// Arrays of references other than /Kids (annotations, say) are
		// remembered too, and replaced definitions stay: allow some over
		// the object budget.
		maxRefs: 4 * b.Objects,
		inline:  kidInvalid,
	}
}

// define records the facts of object num, replacing earlier ones.
func (f *pdfFacts) define(num int64, fact objFact) {
	if num <= 0 || num > math.MaxInt32 || f.err != nil {
		return
	}
	if _, ok := f.objs[int32(num)]; !ok && len(f.objs) >= f.maxObjs {
		f.err = fmt.Errorf("pdf: the document has more than the budget of %d objects", f.maxObjs)
		return
	}
	f.objs[int32(num)] = fact
}

// lookup returns the facts of an object that the page tree uses, once
// verify has found them to be the definition that the cross-reference
// table names: where pdfcpu (and a printer) follows the table to one
// definition, the scanner has kept the last one in file order. Nodes
// written inline are part of an object that was checked.
func (f *pdfFacts) lookup(num int32) (objFact, bool, error) {
	o, ok := f.objs[num]
	if num > 0 {
		if err := f.verify(num, o, ok); err != nil {
			return o, ok, err
		}
	}
	return o, ok, nil
}

// roomFor reports whether n more array entries fit the budget, and sets
// the error when they do not.
func (f *pdfFacts) roomFor(n int) bool {
	if len(f.refs)+n <= f.maxRefs {
		return true
	}
	if f.err == nil {
		f.err = fmt.Errorf("pdf: the document has more than the budget of %d references in arrays", f.maxRefs)
	}
	return false
}

// addRefs appends the entries of an array and returns where they are.
func (f *pdfFacts) addRefs(entries []int32) span {
	sp := span{start: int32(len(f.refs))}
	if f.roomFor(len(entries)) {
		f.refs = append(f.refs, entries...)
		sp.n = int32(len(entries))
	}
	return sp
}

// defineInline records a page tree node written inline in /Kids as an
// object of its own, numbered below kidInvalid, and returns its number.
func (f *pdfFacts) defineInline(fact objFact) int32 {
	if f.err != nil || len(f.objs) >= f.maxObjs || f.inline == math.MinInt32 {
		return kidInvalid
	}
	f.inline--
	f.objs[f.inline] = fact
	return f.inline
}

var errNoPageTree = errors.New("pdf: no page tree")

// pageTreeRoot returns the root node of the page tree: the /Pages of the
// catalog that root, the trailer's /Root, names.
func (f *pdfFacts) pageTreeRoot(root int32) (int32, error) {
	catalog, ok, err := f.lookup(root)
	switch {
	case err != nil:
		return 0, err
	case !ok || catalog.kind != factDict || catalog.pages <= 0:
		return 0, errNoPageTree
	}
	return catalog.pages, nil
}

// countPages counts the leaves of the page tree under root, as countPageTree
// does for pdfcpu's objects: the same nodes are pages, the same trees are
// refused (cycles, shared nodes, too deep, over the object budget).
func (f *pdfFacts) countPages(root int32, b Budget, stop func() bool) (int, error) {
	type node struct {
		entry int32
		depth int
	}
	stack := []node{{entry: root}}
	seen := map[int32]bool{}
	pages := 0
	for steps := 0; len(stack) > 0; steps++ {
		if steps%1024 == 0 && stop() {
			return 0, errStopped
		}
		if steps > b.Objects {
			return 0, fmt.Errorf("pdf: the page tree has more than the budget of %d objects", b.Objects)
		}
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.depth > pdfMaxDepth {
			return 0, errors.New("pdf: page tree too deep")
		}
		switch n.entry {
		case kidLeaf:
			pages++
			continue
		case kidInvalid:
			return 0, errors.New("pdf: page tree node is not a dictionary")
		}
		if seen[n.entry] {
			return 0, errors.New("pdf: page tree has a cycle or a shared node")
		}
		seen[n.entry] = true
		o, ok, err := f.lookup(n.entry)
		if err != nil {
			return 0, err
		}
		if !ok || o.kind != factDict {
			return 0, errors.New("pdf: page tree node is not a dictionary")
		}
		switch {
		case o.flags&flagPage != 0:
			// A page is a page, whatever /Kids it also has: printers
			// print it, and a /Kids [] must not hide it from the count.
			pages++
			continue
		case o.flags&flagHasKids == 0 && o.flags&flagPages != 0:
			if o.flags&flagContents != 0 {
				return 0, errPagesWithContents
			}
			continue // an empty intermediate node
		case o.flags&flagHasKids == 0:
			pages++ // a leaf without /Type, as pdfcpu takes it
			continue
		}
		kids, err := f.kidsOf(o)
		if err != nil {
			return 0, err
		}
		for i := kids.start + kids.n - 1; i >= kids.start; i-- {
			stack = append(stack, node{entry: f.refs[i], depth: n.depth + 1})
		}
	}
	if pages == 0 {
		return 0, errNoPages
	}
	return pages, nil
}

// errNoPages refuses a page tree with no page: readers disagree on what
// to print then (a root /Pages without /Kids: Ghostscript prints one
// page, poppler and qpdf take its /Count), so the count is not known.
var errNoPages = errors.New("pdf: the page tree holds no page")

// errPagesWithContents refuses a node typed /Pages, without /Kids, that
// has a page's /Contents: some readers print it as a page (poppler, qpdf),
// others not (Ghostscript), so the count is not known.
var errPagesWithContents = errors.New("pdf: a /Pages node of the page tree has contents and no /Kids")

// kidsOf returns the entries of a node's /Kids. Like pdfcpu, it reads a
// /Kids referring to a missing or null object as no kids.
func (f *pdfFacts) kidsOf(o objFact) (span, error) {
	switch o.kidsKind {
	case kidsArray:
		return o.kids, nil
	case kidsRef:
		a, ok, err := f.lookup(o.ref)
		switch {
		case err != nil:
			return span{}, err
		case !ok || a.kind == factNull:
			return span{}, nil
		case a.kind == factArray:
			return a.kids, nil
		}
	}
	return span{}, errors.New("pdf: page tree node has invalid /Kids")
}
