// Package packaging holds what installs printgate as a system service: the
// systemd unit, the .deb's configuration and maintainer scripts (built by
// `make package` with nfpm), and the tests that install the package and
// verify the unit. It has no Go code of its own.
package packaging
