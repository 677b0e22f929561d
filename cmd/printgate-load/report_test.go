package main

import (
	"testing"
	"time"
)

// TestPhases: the first answers go to the warm-up, the others are
// counted from the moment the last warm-up answer came, even those that
// began before it.
func TestPhases(t *testing.T) {
	p := newPhases(2)
	began := time.Now()
	p.add(began, outcome{})
	p.add(began, outcome{key: "http:500"})
	switched := p.counted.start
	if switched.Before(began) || !p.counted.fixedStart {
		t.Fatalf("counted from %v (fixed %v), want from the second answer, after %v", switched, p.counted.fixedStart, began)
	}
	p.add(began, outcome{})                            // began during the warm-up
	p.add(time.Now().Add(time.Millisecond), outcome{}) // after it
	w, c := p.warm.summarize(2, false), p.counted.summarize(2, false)
	if w.Completed != 2 || w.OK != 1 || w.Errors != 1 || c.Completed != 2 || c.OK != 2 || c.Errors != 0 {
		t.Errorf("warm-up %+v, counted %+v; want two answers each, the error in the warm-up", w, c)
	}
	if !p.counted.start.Equal(switched) {
		t.Errorf("an answer that began during the warm-up moved the counted clock to %v", p.counted.start)
	}
}
