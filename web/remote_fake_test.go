package web

import (
	"context"
	"fmt"
	"time"

	"github.com/printgate/printgate/release"
)

// sampleRemote stands in for release.RemoteRelease where only the route
// table is under test: it takes the sample token (samplePath's) as a
// genuine link of any device and has no jobs. The browser tests use the
// real one.
type sampleRemote struct{}

var _ RemoteRelease = sampleRemote{}

func (sampleRemote) QRLink(_ context.Context, name string, ttl time.Duration, _ string) (release.QRLink, error) {
	return release.QRLink{Device: name, Path: release.QRPath(name, "pgs_SAMPLE"), Expires: time.Now().Add(ttl)}, nil
}

func (sampleRemote) LinkDevice(_ context.Context, name, token string) (release.Device, error) {
	if token != "pgs_SAMPLE" {
		return release.Device{}, fmt.Errorf("sample: %w", release.ErrUnauthorized)
	}
	return release.Device{Name: name, Enabled: true}, nil
}

func (sampleRemote) WebDevices(context.Context) ([]release.Device, error) { return nil, nil }
func (sampleRemote) WebQueues() []string                                  { return nil }

func (sampleRemote) WebDevice(_ context.Context, name string) (release.Device, error) {
	return release.Device{}, fmt.Errorf("sample: %w", release.ErrNotFound)
}

func (sampleRemote) Jobs(context.Context, string, string, release.Device) ([]release.Job, error) {
	return nil, nil
}

func (sampleRemote) Release(context.Context, string, string, release.Device, release.ReleaseRequest) ([]release.Released, error) {
	return nil, fmt.Errorf("sample: %w", release.ErrNotFound)
}
