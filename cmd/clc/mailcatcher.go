package main

import (
	"context"

	"github.com/clc-portal/clc/internal/mailcatch"
)

// mailcatcher runs the local mail catcher `make run` starts when SMTP_URL
// points nowhere else.
func (c *cli) mailcatcher(ctx context.Context, args []string) error {
	fs := c.flags("mailcatcher")
	smtpAddr := fs.String("smtp", "127.0.0.1:1025", "where to accept SMTP")
	httpAddr := fs.String("http", "127.0.0.1:8025", "where to serve the page that lists caught mail")
	if err := parse(fs, args); err != nil {
		return err
	}
	return mailcatch.Run(ctx, *smtpAddr, *httpAddr, c.logger())
}
