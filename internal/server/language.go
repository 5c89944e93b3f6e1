package server

import (
	"context"

	"github.com/clc-portal/clc/internal/i18n"
	"github.com/clc-portal/clc/web/components"
)

// languageChoices offers the portal's languages, each named in itself.
func languageChoices(ctx context.Context) []components.Choice {
	var out []components.Choice
	for _, l := range i18n.Choices(ctx) {
		c := components.Choice{Value: l.Code, Label: l.Name}
		if l.Code != i18n.Lang(ctx) {
			c.Lang = l.Code
		}
		out = append(out, c)
	}
	return out
}

// languageName is a language's name in itself ("Français"), or its code
// when the portal lacks it.
func languageName(ctx context.Context, code string) string {
	for _, l := range i18n.Choices(ctx) {
		if l.Code == code {
			return l.Name
		}
	}
	return code
}
