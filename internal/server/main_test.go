package server_test

import (
	"os"
	"testing"
)

// TestMain stops the Chromium the browser tests share once they are done.
func TestMain(m *testing.M) {
	code := m.Run()
	chromiumProcess.stop()
	os.Exit(code)
}
