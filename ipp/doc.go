// Package ipp speaks the Internet Printing Protocol for printgate: an HTTP
// handler that validates requests in RFC 8011 §4.1 order and dispatches them
// to a Backend, and a Client that forwards documents to real printers.
//
// The package knows nothing of printgate's storage or policy; everything
// domain-specific sits behind the Backend interface.
package ipp
