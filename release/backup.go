package release

import (
	"context"

	"gorm.io/gorm"

	"github.com/printgate/printgate/release/spool"
)

// StoredDocument is a document a backup carries as a file of the spool.
type StoredDocument struct {
	// Name is the document's name, the name of its file.
	Name string
	// Segment, when its Segment is not zero, says the document lies in a
	// spool segment rather than in a file of its own: the backup carries
	// its sealed bytes there as the file, and a restore adopts the file
	// (recover).
	Segment spool.Loc
}

// StoredDocuments returns the spool documents that the jobs in db refer
// to: those a backup of db must carry. db may be a transaction, so that
// they are those of a database snapshot. Documents kept in the database
// (doc_in_db) are not among them: the snapshot holds them.
func StoredDocuments(ctx context.Context, db *gorm.DB) ([]StoredDocument, error) {
	var jobs []Job
	if err := db.WithContext(ctx).Model(&Job{}).Select("spool", "doc_segment", "doc_offset", "doc_length").
		Where("spool <> '' AND doc_in_db = ?", false).Find(&jobs).Error; err != nil {
		return nil, dbErr("list stored documents", err)
	}
	docs := make([]StoredDocument, len(jobs))
	for i := range jobs {
		docs[i] = StoredDocument{Name: jobs[i].Spool, Segment: segmentLoc(&jobs[i])}
	}
	return docs, nil
}

// SegmentPrefix returns the prefix of the spool segments of the database
// databaseID (spool.SegmentName).
func SegmentPrefix(databaseID string) string { return docPrefix(databaseID) }
