package release

import (
	"context"

	"gorm.io/gorm"
)

// StoredDocuments returns the names of the spool documents that the jobs
// in db refer to: those a backup of db must carry. db may be a
// transaction, so that the names are those of a database snapshot.
// Documents kept in the database (doc_in_db) are not among them: the
// snapshot holds them.
func StoredDocuments(ctx context.Context, db *gorm.DB) ([]string, error) {
	var names []string
	if err := db.WithContext(ctx).Model(&Job{}).Where("spool <> '' AND doc_in_db = ?", false).
		Pluck("spool", &names).Error; err != nil {
		return nil, dbErr("list stored documents", err)
	}
	return names, nil
}
