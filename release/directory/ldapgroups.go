package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

var _ GroupDirectory = (*LDAP)(nil)

// InGroups implements GroupDirectory: it finds the user by login name with
// the service account and checks each group as the admin and auditor
// groups are checked (memberOf when configured, else GroupFilter).
func (l *LDAP) InGroups(ctx context.Context, name string, groups []string) ([]string, error) {
	if name == "" {
		return nil, ErrNotFound
	}
	var in []string
	err := l.do(ctx, "groups", func(c *conn) error {
		e, err := l.findUser(ctx, c, l.cfg.UserFilter, name)
		if errors.Is(err, errAmbiguous) {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		for _, g := range groups {
			ok, err := l.memberOfAny(ctx, c, e, []string{g})
			if err != nil {
				return err
			}
			if ok {
				in = append(in, g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// CheckGroupDN reports whether dn is a group DN the directory can match,
// for the configuration.
func CheckGroupDN(dn string) error {
	if _, err := ldap.ParseDN(dn); err != nil || dn == "" {
		return fmt.Errorf("%q is not a group DN such as cn=interns,ou=groups,dc=example,dc=com", dn)
	}
	return nil
}
