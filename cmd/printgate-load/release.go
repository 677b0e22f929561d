package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// releaseClient speaks printgate's release API as a device: it signs a
// user in with ID and PIN and releases their jobs one by one.
type releaseClient struct {
	http  *http.Client
	base  string // .../api/v1
	token string
	o     *options
}

func newReleaseClient(o *options, hc *http.Client) *releaseClient {
	return &releaseClient{http: hc, base: strings.TrimSuffix(o.releaseAPI.String(), "/") + "/api/v1",
		token: o.deviceToken, o: o}
}

// call sends one JSON request and decodes a JSON reply into out (when not
// nil). It returns the HTTP status, or an outcome for a transport error.
func (c *releaseClient) call(ctx context.Context, method, path string, body, out any) (int, *outcome) {
	ctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, &outcome{key: "encode", detail: err.Error()}
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, &outcome{key: "request", detail: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		o := transportOutcome(err)
		return 0, &o
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		o := transportOutcome(err)
		return 0, &o
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, &outcome{key: "api:undecodable-reply", detail: err.Error()}
		}
	}
	return resp.StatusCode, nil
}

// openSession signs the user in; the PIN goes in the body only.
func (c *releaseClient) openSession(ctx context.Context) (string, *outcome) {
	var reply struct {
		Session string `json:"session"`
	}
	status, o := c.call(ctx, http.MethodPost, "/release/sessions",
		map[string]string{"user": c.o.pinUser, "pin": c.o.pin}, &reply)
	if o != nil {
		o.key = "session:" + o.key
		return "", o
	}
	if status != http.StatusCreated || reply.Session == "" {
		return "", &outcome{key: "session:http:" + strconv.Itoa(status),
			detail: fmt.Sprintf("opening a release session for %s answered HTTP %d", c.o.pinUser, status)}
	}
	return reply.Session, nil
}

// closeSession signs the user out, best effort.
func (c *releaseClient) closeSession(session string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.call(ctx, http.MethodDelete, "/release/sessions/"+url.PathEscape(session), nil, nil)
}

// release releases one job and classifies the answer: a job that went
// back on hold, or came back with a problem, counts as an error.
func (c *releaseClient) release(ctx context.Context, session string, id int) outcome {
	var reply struct {
		Jobs []struct {
			ID      int    `json:"id"`
			State   string `json:"state"`
			Problem string `json:"problem"`
		} `json:"jobs"`
	}
	status, o := c.call(ctx, http.MethodPost, "/release/sessions/"+url.PathEscape(session)+"/release",
		map[string]any{"jobs": []int{id}}, &reply)
	switch {
	case o != nil:
		return *o
	case status != http.StatusAccepted:
		return outcome{key: "http:" + strconv.Itoa(status)}
	case len(reply.Jobs) != 1 || reply.Jobs[0].ID != id:
		return outcome{key: "api:unexpected-reply", detail: fmt.Sprintf("release of job %d answered %d jobs", id, len(reply.Jobs))}
	case reply.Jobs[0].Problem != "":
		return outcome{key: "release:" + reply.Jobs[0].Problem}
	case reply.Jobs[0].State == "pending-held":
		return outcome{key: "release:" + reply.Jobs[0].State}
	}
	return outcome{}
}
