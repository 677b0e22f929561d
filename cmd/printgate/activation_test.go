package main

import (
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseActivation(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name    string
		env     map[string]string
		want    activation
		wantErr string
	}{
		{name: "not activated", env: map[string]string{}},
		{name: "for this process", env: map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2"}, want: activation{count: 2}},
		{name: "with names", env: map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "ipp:ipps"},
			want: activation{count: 2, names: []string{"ipp", "ipps"}}},
		{name: "for another process", env: map[string]string{"LISTEN_PID": "17", "LISTEN_FDS": "2"}},
		{name: "no pid", env: map[string]string{"LISTEN_FDS": "2"}},
		{name: "no count", env: map[string]string{"LISTEN_PID": "4242"}},
		{name: "zero", env: map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "0"}},
		{name: "bad pid", env: map[string]string{"LISTEN_PID": "me", "LISTEN_FDS": "1"}, wantErr: "LISTEN_PID"},
		{name: "bad count", env: map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "-1"}, wantErr: "LISTEN_FDS"},
		{name: "names disagree", env: map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "ipp"}, wantErr: "LISTEN_FDNAMES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseActivation(func(k string) string { return tt.env[k] }, pid)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMatchListeners(t *testing.T) {
	listen := func(addr string) inheritedListener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return inheritedListener{name: "LISTEN_FD_3", ln: ln}
	}
	tests := []struct {
		name    string
		bind    []string
		addrs   func(got []string) []string // configured addresses from the bound ones
		want    []int                       // index of the listener each address gets
		wantErr bool
	}{
		{name: "one", bind: []string{"127.0.0.1:0"}, addrs: func(g []string) []string { return g }, want: []int{0}},
		{name: "two in another order", bind: []string{"127.0.0.1:0", "127.0.0.1:0"},
			addrs: func(g []string) []string { return []string{g[1], g[0]} }, want: []int{1, 0}},
		{name: "unspecified", bind: []string{":0"},
			addrs: func(g []string) []string { return []string{"0.0.0.0:" + port(g[0])} }, want: []int{0}},
		{name: "empty host", bind: []string{"0.0.0.0:0"},
			addrs: func(g []string) []string { return []string{":" + port(g[0])} }, want: []int{0}},
		{name: "one bound, the other not", bind: []string{"127.0.0.1:0"},
			addrs: func(g []string) []string { return []string{g[0], "127.0.0.1:1"} }, want: []int{0, -1}},
		{name: "a host name is not guessed", bind: []string{"127.0.0.1:0"},
			addrs: func(g []string) []string { return []string{"localhost:" + port(g[0])} }, wantErr: true},
		{name: "other port", bind: []string{"127.0.0.1:0"},
			addrs: func(g []string) []string { return []string{"127.0.0.1:1"} }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inherited []inheritedListener
			var got []string
			for _, b := range tt.bind {
				il := listen(b)
				inherited = append(inherited, il)
				got = append(got, il.ln.Addr().String())
			}
			addrs := tt.addrs(got)
			bound, err := matchListeners(inherited, addrs)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "matches no address") {
					t.Fatalf("error %v, want a listener matching no address", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, addr := range addrs {
				ln, ok := bound[addr]
				switch {
				case tt.want[i] < 0 && ok:
					t.Errorf("%s got listener %s, want none (bind it)", addr, ln.Addr())
				case tt.want[i] >= 0 && ln != inherited[tt.want[i]].ln:
					t.Errorf("%s got %v, want listener %d", addr, ln, tt.want[i])
				}
			}
		})
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
