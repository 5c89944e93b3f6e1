package server

import "log/slog"

// accessLevel logs server failures as errors so they stand out.
func accessLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
