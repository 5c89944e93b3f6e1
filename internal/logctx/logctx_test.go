package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

type deeperKey struct{}

func TestHandlerWritesTheRequestAndItsUser(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	outer := WithRequest(context.Background(), "abc123")
	inner := context.WithValue(outer, deeperKey{}, 1) // deeper in the request
	log.InfoContext(outer, "before sign-in")
	SetUser(inner, 42)
	log.InfoContext(outer, "after, from the outer context")
	log.Info("no context")

	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if lines[0]["request_id"] != "abc123" || lines[0]["user_id"] != nil {
		t.Errorf("before sign-in: %v", lines[0])
	}
	if lines[1]["request_id"] != "abc123" || lines[1]["user_id"] != float64(42) || lines[1]["component"] != "test" {
		t.Errorf("after: %v", lines[1])
	}
	if _, ok := lines[2]["request_id"]; ok {
		t.Errorf("a line without a request has a request_id: %v", lines[2])
	}
	if NewHandler(NewHandler(slog.NewJSONHandler(&buf, nil))).(Handler).next == nil {
		t.Error("wrapping twice lost the handler")
	}
}
