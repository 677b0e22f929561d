package pages

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// What the one-pass PDF counter remembers of the objects it has seen: a
// few facts per object, enough to walk the page tree at the end, and the
// references of arrays that may be /Kids. Later definitions of an object
// replace earlier ones, as an incremental update does.

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
	flagPages     uint8 = 1 << iota // /Type /Pages
	flagCatalog                     // /Type /Catalog
	flagHasKids                     // has a /Kids entry
	flagHasParent                   // has a /Parent entry
	flagTwice                       // defined otherwise earlier in the same revision
	flagReplaces                    // replaces another definition
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
	pages    int32  // a dictionary's /Pages reference: 0 none, -1 not a reference
	ref      int32  // kidsRef: the referenced object
	kids     span   // kidsArray, or an array object: its entries in pdfFacts.refs
	rev      uint16 // the revision that defines it
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
	// rev counts the revisions (the original and each update), each
	// ended by "startxref": objects after the last one are in none.
	rev uint16
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

// define records the facts of object num, replacing earlier ones, and
// notes when a different definition replaces another.
func (f *pdfFacts) define(num int64, fact objFact) {
	if num <= 0 || num > math.MaxInt32 || f.err != nil {
		return
	}
	fact.rev = f.rev
	old, ok := f.objs[int32(num)]
	switch {
	case !ok && len(f.objs) >= f.maxObjs:
		f.err = fmt.Errorf("pdf: the document has more than the budget of %d objects", f.maxObjs)
		return
	case ok && old.rev == f.rev:
		fact.flags |= old.flags & flagTwice
		if !f.same(old, fact) {
			fact.flags |= flagTwice | flagReplaces
		}
	case ok && !f.same(old, fact):
		fact.flags |= flagReplaces
	}
	f.objs[int32(num)] = fact
}

// endRevision is called at each "startxref".
func (f *pdfFacts) endRevision() {
	f.rev = min(f.rev+1, math.MaxUint16-1)
}

// same reports whether two definitions say the same to counting.
func (f *pdfFacts) same(a, b objFact) bool {
	const marks = flagTwice | flagReplaces
	return a.kind == b.kind && a.flags&^marks == b.flags&^marks && a.kidsKind == b.kidsKind &&
		a.pages == b.pages && a.ref == b.ref &&
		slices.Equal(f.refs[a.kids.start:][:a.kids.n], f.refs[b.kids.start:][:b.kids.n])
}

var errAmbiguous = errors.New("pdf: an object of the page tree has conflicting definitions")

// lookup returns the facts of an object that the page tree uses. Where
// pdfcpu follows the cross-reference table to one definition, the scanner
// takes the last one, which is the same in a valid document: it refuses
// objects that a reader of the table could see otherwise, defined
// differently twice in one revision, or replaced after the last
// "startxref" (where no table lists the replacement).
func (f *pdfFacts) lookup(num int32) (objFact, bool, error) {
	o, ok := f.objs[num]
	if ok && (o.flags&flagTwice != 0 || o.flags&flagReplaces != 0 && o.rev == f.rev && f.rev > 0) {
		return o, ok, errAmbiguous
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
// catalog that root names. Without a usable /Root (a document cut before
// its trailer), it takes the only catalog, or else the only /Pages node
// without a /Parent.
func (f *pdfFacts) pageTreeRoot(root int32) (int32, error) {
	if root > 0 {
		catalog, ok, err := f.lookup(root)
		if err != nil {
			return 0, err
		}
		if ok {
			if catalog.kind != factDict || catalog.pages <= 0 {
				return 0, errNoPageTree
			}
			return catalog.pages, nil
		}
	}
	var catalogs, roots int
	var fromCatalog, orphan int32
	for num, o := range f.objs {
		switch {
		case o.kind != factDict || o.flags&(flagTwice|flagReplaces) != 0:
		case o.flags&flagCatalog != 0 && o.pages > 0:
			catalogs++
			fromCatalog = o.pages
		case o.flags&flagPages != 0 && o.flags&flagHasParent == 0:
			roots++
			orphan = num
		}
	}
	switch {
	case catalogs == 1:
		return fromCatalog, nil
	case catalogs == 0 && roots == 1:
		return orphan, nil
	}
	return 0, errNoPageTree
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
		if o.flags&flagHasKids == 0 {
			if o.flags&flagPages == 0 {
				pages++
			}
			continue // a page, or an empty intermediate node
		}
		kids, err := f.kidsOf(o)
		if err != nil {
			return 0, err
		}
		for i := kids.start + kids.n - 1; i >= kids.start; i-- {
			stack = append(stack, node{entry: f.refs[i], depth: n.depth + 1})
		}
	}
	return pages, nil
}

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
